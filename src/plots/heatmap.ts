import type { CustomPanel } from "./render.js";

/**
 * A heatmap panel of a square matrix (row = "from", column = "to"), drawn with node-canvas since
 * chart.js has no matrix chart. Cells show the row-normalised share and are shaded by it.
 */
export function heatmapPanel(
  title: string,
  rowLabels: readonly string[],
  labels: readonly string[],
  counts: readonly (readonly number[])[],
  rowLabel = "from",
  colLabel = "then",
): CustomPanel {
  return {
    draw(ctx, width, height) {
      const K = labels.length;
      const R = rowLabels.length;
      ctx.fillStyle = "#666";
      ctx.font = "bold 15px sans-serif";
      ctx.textAlign = "center";
      ctx.textBaseline = "top";
      ctx.fillText(title, width / 2, 8);
      const top = 66;
      const left = 170;
      // cells are cellW wide (room for agent names) and cell high
      const cell = Math.max(12, Math.min((height - top - 12) / R, 60));
      const cellW = Math.max(cell, Math.min((width - left - 120) / K, 130));
      const gridW = cellW * K;
      const x0 = left + Math.max(0, (width - left - 120 - gridW) / 2);
      ctx.font = "12px sans-serif";
      ctx.fillStyle = "#444";
      ctx.textAlign = "center";
      ctx.textBaseline = "bottom";
      ctx.fillText(`${colLabel} →`, x0 + gridW / 2, top - 22);
      const fit = (s: string, w: number) => {
        let t = s;
        while (t.length > 3 && ctx.measureText(t).width > w) t = t.slice(0, -2);
        return t === s ? s : `${t}…`;
      };
      labels.forEach((l, j) => ctx.fillText(fit(l, cellW - 4), x0 + (j + 0.5) * cellW, top - 3));
      ctx.textAlign = "right";
      ctx.textBaseline = "middle";
      rowLabels.forEach((l, i) => ctx.fillText(fit(l, left - 60), x0 - 6, top + (i + 0.5) * cell));
      ctx.save();
      ctx.translate(x0 - 130, top + (R * cell) / 2);
      ctx.rotate(-Math.PI / 2);
      ctx.textAlign = "center";
      ctx.fillText(`${rowLabel} ↓`, 0, 0);
      ctx.restore();
      for (let i = 0; i < R; i++) {
        const row = counts[i]!;
        const total = row.reduce((a, b) => a + b, 0);
        for (let j = 0; j < K; j++) {
          const share = total > 0 ? row[j]! / total : 0;
          // white → blue (#0072B2) by share
          const c = (a: number, b: number) => Math.round(a + (b - a) * share);
          ctx.fillStyle = `rgb(${c(255, 0)},${c(255, 114)},${c(255, 178)})`;
          ctx.fillRect(x0 + j * cellW, top + i * cell, cellW, cell);
          ctx.strokeStyle = "#ccc";
          ctx.strokeRect(x0 + j * cellW, top + i * cell, cellW, cell);
          if (cell >= 16 && cellW >= 28) {
            ctx.fillStyle = share > 0.55 ? "white" : "#222";
            ctx.textAlign = "center";
            ctx.fillText(total > 0 ? `${(100 * share).toFixed(0)}%` : "–", x0 + (j + 0.5) * cellW, top + (i + 0.5) * cell);
          }
        }
        ctx.fillStyle = "#666";
        ctx.textAlign = "left";
        ctx.fillText(`n=${total}`, x0 + gridW + 8, top + (i + 0.5) * cell);
      }
    },
  };
}
