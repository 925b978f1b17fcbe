import { Resvg } from '@resvg/resvg-js';
import { formatAmount, unitFor, type ReportRow } from './report.js';

// `report --chart`: emissions per day as a bar chart, SVG for a browser and PNG for a
// ticket or a mail. The unit follows the figures (a day of short runs is milligrams),
// and a window with nothing in it says so instead of drawing an empty axis.

const W = 800;
const H = 400;
const TOP = 48;
const BOTTOM = 70;
// Wide enough for tick labels of up to seven characters beside the axis title.
const LEFT = 96;
const RIGHT = 24;

const esc = (s: string) => s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);

export function chartSvg(days: ReportRow[], title: string): string {
  const unit = unitFor(days.map((d) => d.kg));
  const values = days.map((d) => d.kg * unit.factor);
  const max = niceCeiling(Math.max(0, ...values));
  const plotH = H - TOP - BOTTOM;
  const bw = (W - LEFT - RIGHT) / Math.max(days.length, 1);
  const y = (v: number) => TOP + plotH * (1 - (max > 0 ? v / max : 0));
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Arial, sans-serif">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="26" font-size="16" text-anchor="middle">${esc(title)}</text>`,
    `<text x="18" y="${TOP + plotH / 2}" font-size="12" transform="rotate(-90 18 ${TOP + plotH / 2})" text-anchor="middle">${unit.name} CO2eq per day</text>`,
  ];
  if (max === 0) {
    parts.push(
      `<text class="no-data" x="${(LEFT + W - RIGHT) / 2}" y="${TOP + plotH / 2}" font-size="18" fill="#555" text-anchor="middle">no data: no codecarbon runs in this window</text>`,
    );
  } else {
    for (const f of [0, 0.25, 0.5, 0.75, 1]) {
      const ty = y(max * f).toFixed(1);
      parts.push(
        `<line x1="${LEFT}" x2="${W - RIGHT}" y1="${ty}" y2="${ty}" stroke="#ddd"/>`,
        `<text x="${LEFT - 8}" y="${(Number(ty) + 4).toFixed(1)}" font-size="11" text-anchor="end">${formatAmount(max * f)}</text>`,
      );
    }
  }
  const every = Math.ceil(days.length / 31);
  days.forEach((d, i) => {
    const x = LEFT + i * bw;
    const v = values[i]!;
    if (v > 0) {
      parts.push(
        `<rect class="bar" x="${(x + 2).toFixed(1)}" y="${y(v).toFixed(1)}" width="${Math.max(bw - 4, 1).toFixed(1)}" height="${(H - BOTTOM - y(v)).toFixed(1)}" fill="#2e7d32"><title>${esc(d.key)}: ${formatAmount(v)} ${unit.name} (${d.count} runs)</title></rect>`,
      );
    }
    if (i % every === 0) {
      const cx = (x + bw / 2).toFixed(1);
      parts.push(
        `<text x="${cx}" y="${H - BOTTOM + 16}" font-size="10" text-anchor="end" transform="rotate(-45 ${cx} ${H - BOTTOM + 16})">${esc(d.key.slice(5))}</text>`,
      );
    }
  });
  parts.push(`<line x1="${LEFT}" x2="${W - RIGHT}" y1="${H - BOTTOM}" y2="${H - BOTTOM}" stroke="#333"/>`, '</svg>');
  return parts.join('\n');
}

/** The same chart as PNG, rendered in process (resvg) with the system's fonts. */
export function chartPng(svg: string): Buffer {
  return new Resvg(svg, { background: 'white', font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } }).render().asPng();
}

/** 1, 2 or 5 times a power of ten, at or above `v`: tick labels stay short. */
function niceCeiling(v: number): number {
  if (v <= 0) return 0;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}
