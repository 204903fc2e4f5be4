// Every response an API test receives is checked against the OpenAPI
// document (server/api/openapi.json), so that the document cannot drift from
// the server: the route is found by method and path template, the status
// must be one the operation documents, the content type one its response
// documents, and the body must match that response's schema (ajv, JSON
// Schema 2020-12 as OpenAPI 3.1 uses it). harness.mjs client() calls
// checkResponse() on every response; a mismatch fails the test with the
// route, the status and ajv's error.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const DOC_PATH = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../server/api/openapi.json');
const METHODS = ['get', 'put', 'post', 'delete', 'patch'];
const OPS_PATHS = ['/healthz', '/readyz', '/metrics'];

let state = null;

function load() {
  if (state !== null) return state;
  const doc = JSON.parse(readFileSync(DOC_PATH, 'utf8'));
  // strict: false because the document carries OpenAPI's own keywords
  // (example, discriminator) beside JSON Schema's.
  const ajv = new Ajv2020({ strict: false, allErrors: false, validateFormats: true });
  addFormats(ajv);
  ajv.addSchema(doc, 'openapi');
  // Templates with more literal text first, so /me/enrollments wins over /{id}.
  const routes = Object.keys(doc.paths).map((template) => {
    const literal = template.replace(/\{[^}]+\}/g, '').length;
    const source = template
      .split(/(\{[^}]+\})/)
      .map((part) => (part.startsWith('{') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('');
    return { template, literal, re: new RegExp(`^${source}$`) };
  });
  routes.sort((a, b) => b.literal - a.literal);
  state = { doc, ajv, routes, validators: new Map() };
  return state;
}

function pointerEscape(s) {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

function deref(doc, obj) {
  let seen = 0;
  while (obj && typeof obj.$ref === 'string' && obj.$ref.startsWith('#/')) {
    obj = obj.$ref
      .slice(2)
      .split('/')
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce((o, k) => (o === undefined ? undefined : o[k]), doc);
    if (++seen > 10) break;
  }
  return obj;
}

// The document's response object for a status: the exact code, then 4XX
// style ranges, then default.
function responseFor(responses, status) {
  const code = String(status);
  for (const key of [code, `${code[0]}XX`, 'default']) {
    if (responses[key] !== undefined) return key;
  }
  return null;
}

function mediaType(header) {
  return (header ?? '').split(';')[0].trim().toLowerCase();
}

// Returns null when the response agrees with the document, else a message.
// On an admin address (admin: true) only the operations routes exist;
// anything else must be the 404 of a path that does not exist.
export function describeMismatch(method, urlPath, status, contentType, body, text, { admin = false } = {}) {
  const { doc, ajv, routes, validators } = load();
  const pathname = urlPath.split('?')[0].split('#')[0];
  if (admin && !OPS_PATHS.includes(pathname)) {
    if (status === 404 && mediaType(contentType) === 'application/problem+json') return null;
    return `${method.toUpperCase()} ${pathname} → ${status} on the admin address: only ${OPS_PATHS.join(', ')} exist there (expected 404 problem)`;
  }
  const route = routes.find((r) => r.re.test(pathname));
  // Paths the document does not have are the web client's files or a 404;
  // only the problem shape of an API 404 can be checked there.
  if (route === undefined) return null;
  let m = method.toLowerCase();
  if (m === 'head') m = 'get';
  const item = doc.paths[route.template];
  const where = `${method.toUpperCase()} ${route.template} → ${status}`;
  if (m === 'options') return null;
  if (!METHODS.includes(m) || item[m] === undefined) {
    if (status !== 405 && status !== 404) return `${where}: the document has no ${method.toUpperCase()} on this path, and the server did not answer 405`;
    return null;
  }
  const op = item[m];
  const key = responseFor(op.responses ?? {}, status);
  if (key === null) return `${where}: status ${status} is not documented for operation ${op.operationId ?? ''}`;
  const response = deref(doc, op.responses[key]);
  const type = mediaType(contentType);
  const hasBody = text !== undefined && text !== '' && method.toUpperCase() !== 'HEAD';
  const content = response?.content;
  if (content === undefined || Object.keys(content).length === 0) {
    if (hasBody) return `${where}: the document gives this response no content, but the server sent ${type || 'a body'}`;
    return null;
  }
  if (!hasBody) {
    // 304 and HEAD carry none; a documented body that is absent otherwise is a drift.
    if (status === 304 || method.toUpperCase() === 'HEAD') return null;
    return `${where}: the document gives this response content (${Object.keys(content).join(', ')}), but the body is empty`;
  }
  const mediaKey = Object.keys(content).find((k) => k.toLowerCase() === type) ??
    Object.keys(content).find((k) => k.endsWith('/*') && type.startsWith(k.slice(0, -1)));
  if (mediaKey === undefined) return `${where}: content type ${type || '(none)'} is not documented (${Object.keys(content).join(', ')})`;
  if (!/json$/.test(mediaKey) || content[mediaKey].schema === undefined) return null;
  if (typeof body === 'string') return `${where}: the body is not JSON although the type is ${type}`;
  // The schema is compiled by its pointer into the document, once.
  const pointer = op.responses[key].$ref !== undefined
    ? `${op.responses[key].$ref.replace(/^#/, '')}/content/${pointerEscape(mediaKey)}/schema`
    : `/paths/${pointerEscape(route.template)}/${m}/responses/${pointerEscape(key)}/content/${pointerEscape(mediaKey)}/schema`;
  let validate = validators.get(pointer);
  if (validate === undefined) {
    validate = ajv.compile({ $ref: `openapi#${pointer}` });
    validators.set(pointer, validate);
  }
  if (validate(body)) return null;
  const err = validate.errors.slice(0, 3)
    .map((e) => `${e.instancePath || '(body)'} ${e.message}${e.params && Object.keys(e.params).length ? ' ' + JSON.stringify(e.params) : ''}`)
    .join('; ');
  return `${where}: the body does not match the document's schema: ${err}; body: ${text.slice(0, 300)}`;
}

export function checkResponse(method, urlPath, res, body, text, options = {}) {
  const problem = describeMismatch(method, urlPath, res.status, res.headers.get('content-type'), body, text, options);
  if (problem !== null) throw new Error(`OpenAPI drift: ${problem}`);
}
