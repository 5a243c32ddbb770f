/** Where the versioned public API lives; a breaking change gets `/api/v2` beside it. */
export const API_PREFIX = "/api/v1";
