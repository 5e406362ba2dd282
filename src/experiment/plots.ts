/** Kept so `./plots.js` imports keep working; the plots live in ./plots/. */
export * from "./plots/index.js";
