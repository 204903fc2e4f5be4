// api-docs.js — /api/docs: the OpenAPI document (GET /api/v1/openapi.json)
// rendered by Swagger UI (web/vendor/swagger-ui/, copied from the pinned
// swagger-ui-dist package by scripts/dev). A classic script, not a module:
// swagger-ui-bundle.js defines the global SwaggerUIBundle.
/* global SwaggerUIBundle */
SwaggerUIBundle({
  url: '/api/v1/openapi.json',
  dom_id: '#api-docs',
  deepLinking: true,
  // "Try it out" would send requests with the reader's own session cookie;
  // the reference is for reading.
  supportedSubmitMethods: [],
  validatorUrl: null,
});
