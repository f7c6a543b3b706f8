// Runtime configuration. The container entrypoint overwrites this file at start-up,
// so one build serves every environment. Empty values mean "same origin".
window.__CLOUDCHAT__ = { apiBase: "", wsUrl: "" };
