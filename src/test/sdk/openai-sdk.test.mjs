// The official OpenAI Node SDK against the gateway, changing only baseURL and apiKey.
// Run by src/test/java/ai/gpt/api/sdk/OpenAiSdkTest.java, which starts a gateway with fake llama.cpp backends
// (gpt-fast: chat/completions, embed: embeddings) and passes:
//   GPT_API_BASE_URL     e.g. http://127.0.0.1:PORT/v1
//   GPT_API_KEY          a key allowed every model
//   GPT_API_LIMITED_KEY  a key allowed only gpt-fast
// By hand: node --test src/test/sdk/openai-sdk.test.mjs (after npm ci --prefix src/test/sdk).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';

function env(name) {
  const value = process.env[name];
  assert.ok(value, `environment variable ${name} must be set`);
  return value;
}

const baseURL = env('GPT_API_BASE_URL');
// maxRetries 0: a failing status must surface as-is, never be hidden by the SDK's automatic retries.
const options = { baseURL, maxRetries: 0, timeout: 30_000 };
const client = new OpenAI({ ...options, apiKey: env('GPT_API_KEY') });
const limited = new OpenAI({ ...options, apiKey: env('GPT_API_LIMITED_KEY') });

const messages = [{ role: 'user', content: 'Say something.' }];

/** Runs fn, expects it to reject with an instance of errorClass, and returns the error. */
async function expectError(errorClass, fn) {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof errorClass,
      `expected ${errorClass.name}, got ${err?.constructor?.name}: ${err?.message}`);
    assert.ok(err instanceof OpenAI.APIError);
    assert.ok(err.requestID, 'error carries x-request-id');
    return err;
  }
  assert.fail(`expected ${errorClass.name}, but the call succeeded`);
}

test('chat.completions.create (non-stream) returns content and exact usage', async () => {
  const { data: completion, response } = await client.chat.completions
    .create({ model: 'gpt-fast', messages, max_tokens: 5 })
    .withResponse();
  assert.equal(response.status, 200);
  assert.ok(response.headers.get('x-request-id'), 'x-request-id header');
  assert.equal(completion.object, 'chat.completion');
  assert.equal(completion.model, 'gpt-fast');
  assert.equal(completion.choices.length, 1);
  assert.equal(completion.choices[0].message.role, 'assistant');
  assert.equal(typeof completion.choices[0].message.content, 'string');
  assert.ok(completion.choices[0].message.content.length > 0, 'content non-empty');
  assert.equal(completion.choices[0].finish_reason, 'length');
  assert.equal(completion.usage.completion_tokens, 5);
  assert.ok(completion.usage.prompt_tokens > 0);
  assert.equal(completion.usage.total_tokens, completion.usage.prompt_tokens + completion.usage.completion_tokens);
});

test('chat.completions.create stream without include_usage: content, no usage chunk', async () => {
  const whole = await client.chat.completions.create({ model: 'gpt-fast', messages, max_tokens: 5 });
  const stream = await client.chat.completions.create({ model: 'gpt-fast', messages, max_tokens: 5, stream: true });
  const chunks = [];
  for await (const chunk of stream) {
    chunks.push(chunk);
  }
  assert.ok(chunks.length > 0, 'at least one chunk');
  for (const chunk of chunks) {
    assert.equal(chunk.object, 'chat.completion.chunk');
    assert.ok(chunk.usage === undefined || chunk.usage === null, `no usage expected: ${JSON.stringify(chunk)}`);
  }
  const content = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
  assert.ok(content.length > 0, 'streamed content non-empty');
  assert.equal(content, whole.choices[0].message.content, 'stream and non-stream generate the same text');
  const finish = chunks.map((c) => c.choices[0]?.finish_reason).filter(Boolean);
  assert.deepEqual(finish, ['length']);
});

test('chat.completions.create stream with stream_options.include_usage: final usage chunk', async () => {
  const stream = await client.chat.completions.create({
    model: 'gpt-fast', messages, max_tokens: 5, stream: true, stream_options: { include_usage: true },
  });
  const chunks = [];
  for await (const chunk of stream) {
    chunks.push(chunk);
  }
  assert.ok(chunks.length >= 2, 'content chunks plus the usage chunk');
  const last = chunks[chunks.length - 1];
  assert.ok(last.usage, `last chunk has usage: ${JSON.stringify(last)}`);
  assert.equal(last.usage.completion_tokens, 5);
  assert.ok(last.usage.prompt_tokens > 0);
  assert.deepEqual(last.choices, []);
  for (const chunk of chunks.slice(0, -1)) {
    assert.ok(chunk.usage === undefined || chunk.usage === null, `only the last chunk has usage: ${JSON.stringify(chunk)}`);
  }
  const content = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
  assert.ok(content.length > 0, 'streamed content non-empty');
});

test('chat.completions.stream helper accumulates the final message', async () => {
  const runner = client.chat.completions.stream({
    model: 'gpt-fast', messages, max_tokens: 5, stream_options: { include_usage: true },
  });
  const final = await runner.finalChatCompletion();
  assert.ok(final.choices[0].message.content.length > 0);
  assert.equal(final.usage.completion_tokens, 5);
});

test('completions.create (legacy), non-stream and stream', async () => {
  const completion = await client.completions.create({ model: 'gpt-fast', prompt: 'Once upon a time', max_tokens: 5 });
  assert.equal(completion.object, 'text_completion');
  assert.equal(completion.choices.length, 1);
  assert.equal(typeof completion.choices[0].text, 'string');
  assert.ok(completion.choices[0].text.length > 0, 'text non-empty');
  assert.equal(completion.usage.completion_tokens, 5);

  const stream = await client.completions.create({
    model: 'gpt-fast', prompt: 'Once upon a time', max_tokens: 5, stream: true,
  });
  let text = '';
  for await (const chunk of stream) {
    text += chunk.choices[0]?.text ?? '';
  }
  assert.equal(text, completion.choices[0].text);
});

test('embeddings.create: SDK default (base64, decoded by the SDK) and explicit float', async () => {
  // No encoding_format: the SDK sends encoding_format "base64" and decodes float32 little-endian itself.
  const decoded = await client.embeddings.create({ model: 'embed', input: 'hello world' });
  assert.equal(decoded.object, 'list');
  assert.equal(decoded.model, 'embed');
  assert.equal(decoded.data.length, 1);
  const vector = decoded.data[0].embedding;
  assert.ok(Array.isArray(vector), 'decoded embedding is an array');
  assert.ok(vector.length > 0, 'decoded embedding non-empty');
  assert.ok(vector.every((x) => typeof x === 'number' && Number.isFinite(x)), 'finite numbers');
  const norm = Math.sqrt(vector.reduce((s, x) => s + x * x, 0));
  assert.ok(Math.abs(norm - 1) < 1e-3, `decoded vector is the backend's unit vector (norm ${norm})`);
  assert.ok(decoded.usage.prompt_tokens > 0);

  const floats = await client.embeddings.create({ model: 'embed', input: 'hello world', encoding_format: 'float' });
  const plain = floats.data[0].embedding;
  assert.ok(Array.isArray(plain) && plain.every((x) => typeof x === 'number'), 'float embedding is numbers');
  assert.equal(plain.length, vector.length);
  plain.forEach((x, i) => assert.ok(Math.abs(x - vector[i]) < 1e-6, `component ${i}: ${x} vs ${vector[i]}`));

  const batch = await client.embeddings.create({ model: 'embed', input: ['a', 'b', 'c'] });
  assert.deepEqual(batch.data.map((d) => d.index), [0, 1, 2]);
  assert.ok(batch.data.every((d) => d.embedding.length === vector.length));
});

test('models.list and models.retrieve', async () => {
  const ids = [];
  for await (const model of client.models.list()) {
    assert.equal(model.object, 'model');
    ids.push(model.id);
  }
  for (const id of ['gpt-fast', 'gpt-full', 'embed']) {
    assert.ok(ids.includes(id), `${id} in ${JSON.stringify(ids)}`);
  }
  const full = await client.models.retrieve('gpt-full');
  assert.equal(full.id, 'gpt-full');
  assert.equal(full.object, 'model');

  const limitedIds = [];
  for await (const model of limited.models.list()) {
    limitedIds.push(model.id);
  }
  assert.deepEqual(limitedIds, ['gpt-fast'], 'a limited key sees only its models');
});

test('bad key -> AuthenticationError 401', async () => {
  const bad = new OpenAI({ ...options, apiKey: 'gpt_live_bad' });
  const err = await expectError(OpenAI.AuthenticationError,
    () => bad.chat.completions.create({ model: 'gpt-fast', messages, max_tokens: 5 }));
  assert.equal(err.status, 401);
  assert.equal(err.code, 'invalid_api_key');
  const listErr = await expectError(OpenAI.AuthenticationError, () => bad.models.list());
  assert.equal(listErr.status, 401);
});

test('model outside the key allow-list -> PermissionDeniedError 403', async () => {
  const err = await expectError(OpenAI.PermissionDeniedError,
    () => limited.chat.completions.create({ model: 'gpt-full', messages, max_tokens: 5 }));
  assert.equal(err.status, 403);
  assert.equal(err.code, 'model_not_allowed');
  // The same key works for its allowed model.
  const ok = await limited.chat.completions.create({ model: 'gpt-fast', messages, max_tokens: 5 });
  assert.equal(ok.usage.completion_tokens, 5);
});

test('unknown model -> NotFoundError 404', async () => {
  const err = await expectError(OpenAI.NotFoundError,
    () => client.chat.completions.create({ model: 'no-such-model', messages, max_tokens: 5 }));
  assert.equal(err.status, 404);
  assert.equal(err.code, 'model_not_found');
  const retrieveErr = await expectError(OpenAI.NotFoundError, () => client.models.retrieve('no-such-model'));
  assert.equal(retrieveErr.status, 404);
});

test('invalid parameter -> BadRequestError 400 naming the param', async () => {
  const err = await expectError(OpenAI.BadRequestError,
    () => client.chat.completions.create({ model: 'gpt-fast', messages, max_tokens: 'x' }));
  assert.equal(err.status, 400);
  assert.equal(err.param, 'max_tokens');
  assert.equal(err.type, 'invalid_request_error');
  const streamErr = await expectError(OpenAI.BadRequestError,
    () => client.chat.completions.create({ model: 'gpt-fast', messages, max_tokens: 'x', stream: true }));
  assert.equal(streamErr.param, 'max_tokens');
});
