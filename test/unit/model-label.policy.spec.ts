import { DEFAULT_MAX_MODELS, ModelLabelPolicy, UNKNOWN_MODEL } from '../../src/index.js';

describe('ModelLabelPolicy', () => {
  it('keeps a usable model name as it is', () => {
    expect(new ModelLabelPolicy().resolve('llama-3 "8b"\n\\')).toBe('llama-3 "8b"\n\\');
  });

  it.each([
    ['missing', undefined],
    ['null', null],
    ['a number', 7],
    ['a boolean', true],
    ['an object', { name: 'x' }],
    ['an array', ['x']],
    ['empty', ''],
    ['longer than 256 characters', 'x'.repeat(257)],
    ['holding a lone high surrogate', 'lone\ud800'],
    ['holding a lone low surrogate', '\udc00x'],
  ])('records a model that is %s as unknown_model', (_, model) => {
    expect(new ModelLabelPolicy().resolve(model)).toBe(UNKNOWN_MODEL);
  });

  it('keeps a name with surrogate pairs (non-BMP characters)', () => {
    expect(new ModelLabelPolicy().resolve('🦙-llama-𝔘')).toBe('🦙-llama-𝔘');
  });

  it('keeps a name of exactly 256 characters', () => {
    expect(new ModelLabelPolicy().resolve('x'.repeat(256))).toBe('x'.repeat(256));
  });

  it('records models outside an allow-list as unknown_model', () => {
    const policy = new ModelLabelPolicy({ models: ['a', 'b'] });
    expect(['a', 'b', 'c'].map((model) => policy.resolve(model))).toEqual(['a', 'b', UNKNOWN_MODEL]);
  });

  it('accepts a predicate as the allow-list, and treats one that throws as a refusal', () => {
    const policy = new ModelLabelPolicy({
      models: (model) => {
        if (model === 'boom') {
          throw new Error('boom');
        }
        return model.startsWith('ok-');
      },
    });
    expect(['ok-1', 'no', 'boom'].map((model) => policy.resolve(model))).toEqual(['ok-1', UNKNOWN_MODEL, UNKNOWN_MODEL]);
  });

  it('caps distinct names at maxModels, keeping the ones admitted first', () => {
    const policy = new ModelLabelPolicy({ maxModels: 2 });
    expect(['a', 'b', 'c', 'a', 'b', 'd'].map((model) => policy.resolve(model))).toEqual([
      'a',
      'b',
      UNKNOWN_MODEL,
      'a',
      'b',
      UNKNOWN_MODEL,
    ]);
  });

  it('caps at 100 distinct names by default', () => {
    const policy = new ModelLabelPolicy();
    const labels = new Set(Array.from({ length: 1000 }, (_, i) => policy.resolve(`model-${i}`)));
    expect(DEFAULT_MAX_MODELS).toBe(100);
    expect(labels.size).toBe(101);
    expect(labels.has(UNKNOWN_MODEL)).toBe(true);
  });

  it('tells once, the first time the cap refuses a name', () => {
    const policy = new ModelLabelPolicy({ maxModels: 1 });
    const reached: number[] = [];
    policy.onCapReached((max) => reached.push(max));
    ['a', 'b', 'c', 'd'].forEach((model) => policy.resolve(model));
    expect(reached).toEqual([1]);
  });

  it('peeks without admitting', () => {
    const policy = new ModelLabelPolicy({ maxModels: 1 });
    expect(policy.peek('a')).toBe('a');
    expect(policy.peek('b')).toBe('b');
    policy.resolve('b');
    expect(policy.peek('a')).toBe(UNKNOWN_MODEL);
    expect(policy.peek('b')).toBe('b');
  });

  it('asks an allow-list predicate every time, also for the model the last request named', () => {
    let allowed = true;
    const policy = new ModelLabelPolicy({ models: () => allowed });
    expect(policy.resolve('m')).toBe('m');
    expect(policy.resolve('m')).toBe('m');
    allowed = false;
    expect(policy.resolve('m')).toBe(UNKNOWN_MODEL);
  });

  it('answers the same for a model named twice in a row, and never takes a missing model for the last one', () => {
    const policy = new ModelLabelPolicy({ models: ['m'] });
    expect([policy.resolve('m'), policy.resolve('m'), policy.resolve(undefined), policy.resolve('x'), policy.resolve('m')]).toEqual([
      'm',
      'm',
      UNKNOWN_MODEL,
      UNKNOWN_MODEL,
      'm',
    ]);
    expect(new ModelLabelPolicy().resolve(undefined)).toBe(UNKNOWN_MODEL);
  });
});
