import table from "./routes.json";

/**
 * Every page's URL pattern, by name (routes.json): app.tsx routes them, and the browser test
 * (test/web.test.ts) reads the same file and requires each route to pass axe at desktop and
 * phone size, except a route marked `redirectOnly` there, which shows no page of its own.
 */
type RouteName = keyof typeof table;

export const ROUTES = Object.fromEntries(Object.entries(table).map(([name, route]) => [name, route.path])) as Record<RouteName, string>;
