import { ErrorType } from '../labels/label-values.js';
import { DYNAMO_0_2_1 } from './dynamo-0.2.1.schema.js';
import { DYNAMO_FRONTEND } from './dynamo-frontend.schema.js';
import type { Schema, SchemaName } from './schema.js';

/** The schemas, by name. */
export const SCHEMAS: Readonly<Record<SchemaName, Schema>> = { 'dynamo-0.2.1': DYNAMO_0_2_1, 'dynamo-frontend': DYNAMO_FRONTEND };

/** The `error_type` of an error answered with HTTP `status`, in `schema` (default: the 0.2.1 one), e.g. 529 → `overload`. */
export function errorTypeForStatus(status: number, schema: Schema = DYNAMO_0_2_1): ErrorType {
  return schema.errorTypesByStatus[status] ?? (status >= 400 && status < 500 ? ErrorType.Validation : ErrorType.Internal);
}
