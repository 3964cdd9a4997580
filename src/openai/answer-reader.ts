import { ToolCallOutcome } from '../labels/label-values.js';
import { asRecord } from './openai-payload.js';

/** Where an `AnswerReader` reports what it reads, as it reads it. */
export interface AnswerSink {
  /** A choice (or a Responses API answer) ended, for `reason` as the answer names it. */
  finishReason(reason: string): void;
  /** A tool call of the answer is whole, and judged. */
  toolCall(outcome: ToolCallOutcome): void;
}

/** Most characters of tool-call arguments one request keeps at once to parse them: past it, a call's arguments count as invalid. */
export const MAX_KEPT_ARGUMENTS = 1 << 20;
/** Most tool calls of a stream kept open at once (their arguments still coming); past it, the oldest is judged on what it has. */
export const MAX_OPEN_TOOL_CALLS = 64;
/** Most tool names read from a request's `tools`: past it, names are not checked. */
export const MAX_TOOL_NAMES = 1024;

/** A tool call of a stream whose arguments are still coming. */
interface OpenToolCall {
  name: string | undefined;
  arguments: string;
  tooLong: boolean;
}

/** Whether a call's arguments parse as JSON: a string of JSON, or (some servers send them so) a JSON value already. */
function argumentsParse(value: unknown): boolean {
  if (typeof value !== 'string') {
    return typeof value === 'object' && value !== null;
  }
  try {
    JSON.parse(value);
    return true;
  } catch {
    return false;
  }
}

/**
 * The names of the function tools a request body offers: Chat Completions'
 * `tools[].function.name` (and the legacy `functions[].name`), the Responses
 * API's `tools[].name`. `undefined` when it offers no tools (a gateway may
 * add its own upstream: names are then not checked) or more than
 * {@link MAX_TOOL_NAMES}.
 */
export function toolNamesOf(body: unknown): ReadonlySet<string> | undefined {
  const record = asRecord(body);
  const tools = record && (Array.isArray(record.tools) ? record.tools : Array.isArray(record.functions) ? record.functions : undefined);
  if (tools === undefined || tools.length === 0 || tools.length > MAX_TOOL_NAMES) {
    return undefined;
  }
  const names = new Set<string>();
  for (const tool of tools) {
    const entry = asRecord(tool);
    const name = asRecord(entry?.function)?.name ?? entry?.name;
    if (typeof name === 'string') {
      names.add(name);
    }
  }
  return names;
}

/** The outcome of a whole tool call: a tool of the request's `tools` (when it names them), with arguments that parse as JSON. */
export function judgeToolCall(name: unknown, args: unknown, tools: ReadonlySet<string> | undefined): ToolCallOutcome {
  if (tools !== undefined && !(typeof name === 'string' && tools.has(name))) {
    return ToolCallOutcome.UnknownTool;
  }
  return argumentsParse(args) ? ToolCallOutcome.Ok : ToolCallOutcome.InvalidArguments;
}

/**
 * Reads what one request's answer says beyond its tokens: each choice's
 * finish reason, and its tool calls, judged (a tool of the request, with
 * arguments that parse as JSON). It reads parsed payloads: chunks or whole
 * answers of Chat Completions and Completions, events or whole answers of
 * the Responses API. A stream's tool call is judged once it is whole: when
 * its choice finishes, or when the request ends well (`end(true)`); one cut
 * by a failure is not counted.
 */
export class AnswerReader {
  /** By choice and call index: the calls of a stream whose arguments are still coming. */
  private readonly open = new Map<string, OpenToolCall>();
  private keptArguments = 0;
  /** Whether a Responses API stream made function calls: its `completed` status then reads as `tool_calls`. */
  private calledFunctions = false;

  constructor(
    private readonly sink: AnswerSink,
    /** The request's tool names (`toolNamesOf`), asked for at each tool call (the caller reads them once); without them, names are not checked. */
    private readonly toolsOf: () => ReadonlySet<string> | undefined,
  ) {}

  /** Reads a parsed payload of the answer. */
  read(payload: Record<string, unknown>): void {
    const choices = payload.choices;
    if (Array.isArray(choices)) {
      for (const choice of choices) {
        this.readChoice(choice);
      }
    } else if (typeof payload.type === 'string') {
      this.readResponsesEvent(payload.type, payload);
    } else if (payload.object === 'response') {
      this.readResponse(payload, true);
    }
  }

  /** The request ended: if `succeeded`, the stream's tool calls still open are judged as they are; otherwise they are dropped. */
  end(succeeded: boolean): void {
    if (succeeded) {
      for (const key of [...this.open.keys()]) {
        this.close(key);
      }
    }
    this.open.clear();
    this.keptArguments = 0;
  }

  /** Judges a whole tool call, and reports it. */
  private judge(name: unknown, args: unknown): void {
    this.sink.toolCall(judgeToolCall(name, args, this.toolsOf()));
  }

  /** A choice of a chunk (`delta`) or of a whole answer (`message`), and its finish reason. */
  private readChoice(value: unknown): void {
    const choice = asRecord(value);
    if (!choice) {
      return;
    }
    const index = typeof choice.index === 'number' ? choice.index : 0;
    const delta = asRecord(choice.delta);
    const message = delta ?? asRecord(choice.message);
    if (message) {
      const calls = message.tool_calls;
      if (Array.isArray(calls)) {
        calls.forEach((call, position) => this.readToolCall(index, call, position, delta !== undefined));
      }
      const legacy = asRecord(message.function_call);
      if (legacy) {
        this.readFunction(`${index}:function_call`, legacy, delta !== undefined);
      }
    }
    if (typeof choice.finish_reason === 'string') {
      this.closeChoice(index);
      this.sink.finishReason(choice.finish_reason);
    }
  }

  /** A tool call of a choice: whole in a message, a part of it in a delta (its `index` tells the call). */
  private readToolCall(choice: number, value: unknown, position: number, streamed: boolean): void {
    const call = asRecord(value);
    const fn = call && asRecord(call.function);
    if (!call || !fn) {
      return;
    }
    const index = typeof call.index === 'number' ? call.index : position;
    this.readFunction(`${choice}:${index}`, fn, streamed);
  }

  /** The `{ name, arguments }` of a call: judged at once if whole, else added to the open call of `key`. */
  private readFunction(key: string, fn: Record<string, unknown>, streamed: boolean): void {
    if (!streamed) {
      this.judge(fn.name, fn.arguments);
      return;
    }
    let call = this.open.get(key);
    if (call === undefined) {
      if (this.open.size >= MAX_OPEN_TOOL_CALLS) {
        this.close(this.open.keys().next().value!);
      }
      call = { name: undefined, arguments: '', tooLong: false };
      this.open.set(key, call);
    }
    if (call.name === undefined && typeof fn.name === 'string') {
      call.name = fn.name;
    }
    const part = fn.arguments;
    if (typeof part === 'string' && part !== '' && !call.tooLong) {
      if (this.keptArguments + part.length > MAX_KEPT_ARGUMENTS) {
        call.tooLong = true;
        this.keptArguments -= call.arguments.length;
        call.arguments = '';
      } else {
        call.arguments += part;
        this.keptArguments += part.length;
      }
    }
  }

  /** Judges the open calls of choice `index`: it finished. */
  private closeChoice(index: number): void {
    if (this.open.size === 0) {
      return;
    }
    const prefix = `${index}:`;
    for (const key of [...this.open.keys()]) {
      if (key.startsWith(prefix)) {
        this.close(key);
      }
    }
  }

  private close(key: string): void {
    const call = this.open.get(key)!;
    this.open.delete(key);
    this.keptArguments -= call.arguments.length;
    this.judge(call.name, call.tooLong ? undefined : call.arguments);
  }

  /**
   * An event of a Responses API stream: a function call is judged when its
   * item is done; the answer's status when it completes, or ends incomplete.
   */
  private readResponsesEvent(type: string, event: Record<string, unknown>): void {
    if (type === 'response.output_item.done') {
      const item = asRecord(event.item);
      if (item?.type === 'function_call') {
        this.calledFunctions = true;
        this.judge(item.name, item.arguments);
      }
    } else if (type === 'response.completed' || type === 'response.incomplete') {
      const response = asRecord(event.response);
      if (response) {
        this.readResponse(response, false);
      }
    }
  }

  /** A Responses API answer: its status as a finish reason; `whole`: its function calls too (a stream's were read as their items were done). */
  private readResponse(response: Record<string, unknown>, whole: boolean): void {
    if (whole && Array.isArray(response.output)) {
      for (const value of response.output) {
        const item = asRecord(value);
        if (item?.type === 'function_call') {
          this.calledFunctions = true;
          this.judge(item.name, item.arguments);
        }
      }
    }
    if (response.status === 'completed') {
      this.sink.finishReason(this.calledFunctions ? 'tool_calls' : 'stop');
    } else if (response.status === 'incomplete') {
      const reason = asRecord(response.incomplete_details)?.reason;
      this.sink.finishReason(reason === 'max_output_tokens' ? 'length' : reason === 'content_filter' ? 'content_filter' : 'other');
    }
  }
}
