// Starts Swagger UI on this container's own description (a file, not inline: the page's CSP allows no inline script).
"use strict";

window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    // Relative to the page (.../docs), so behind a path prefix too. The description's server is "." (the same
    // origin and prefix: api_docs/spec.py), so "Try it out" calls the container the page came from.
    url: "openapi.json",
    dom_id: "#swagger-ui",
    // Swagger UI would otherwise send the description to validator.swagger.io for a badge.
    validatorUrl: null,
    // Operations get their own URL fragments (#/inference/invoke): links to one operation.
    deepLinking: true,
    // An API key typed into Authorize lasts as long as the tab, never in localStorage where any later script of this
    // origin could read it.
    persistAuthorization: false,
    // ?url=... and ?configUrl=... are ignored: the page shows this container's description, never another.
    queryConfigEnabled: false,
    displayRequestDuration: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
});
