import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// Served by the edge on the API's own origin (services/edge/src/web-client.ts); `npm run dev -w web`
// proxies /api to a running stack's edge instead.
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist",
    assetsDir: "assets",
    emptyOutDir: true,
    // The page's CSP allows scripts from this origin only; nothing may be inlined into index.html.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  server: {
    proxy: { "/api": process.env["EDGE_URL"] ?? "http://127.0.0.1:8080" },
  },
});
