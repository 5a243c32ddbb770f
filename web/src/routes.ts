import table from "./routes.json";

/**
 * Every page's URL pattern, by name (routes.json): app.tsx routes them, and the browser test
 * (test/web.test.ts) reads the same file and requires each route to pass axe at desktop and
 * phone size. A route marked `redirectOnly` shows no page of its own: it sends the visitor on.
 */
export type RouteName = keyof typeof table;

export const ROUTES = Object.fromEntries(Object.entries(table).map(([name, route]) => [name, route.path])) as Record<RouteName, string>;

export const REDIRECT_ONLY = (Object.keys(table) as RouteName[]).filter((name) => "redirectOnly" in table[name]);
