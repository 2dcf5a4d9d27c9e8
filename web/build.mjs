// Builds the web page into dist/: the bundled script and style sheet under assets/ with a
// content hash in their names (served with a year-long, immutable cache), and index.html
// naming them (served with no-cache). hast-api embeds dist/ when it is compiled
// (api/build.rs). Run by scripts/build-web.sh; `npm run build` here does the same.
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename } from "node:path";

const dist = new URL("./dist/", import.meta.url).pathname;
rmSync(dist, { recursive: true, force: true });
mkdirSync(`${dist}assets`, { recursive: true });

const result = await build({
  entryPoints: { app: "src/main.ts", style: "src/style.css" },
  bundle: true,
  minify: true,
  sourcemap: false,
  target: ["es2020", "chrome100", "firefox100", "safari15"],
  outdir: `${dist}assets`,
  entryNames: "[name]-[hash]",
  metafile: true,
  legalComments: "none",
  logLevel: "warning",
});

const outputs = Object.keys(result.metafile.outputs).map((path) => basename(path));
const script = outputs.find((name) => name.startsWith("app-") && name.endsWith(".js"));
const style = outputs.find((name) => name.startsWith("style-") && name.endsWith(".css"));
if (!script || !style) throw new Error(`unexpected build outputs: ${outputs.join(", ")}`);

// The icon is copied as it is, under a name with its content hash like the bundles.
const iconBytes = readFileSync("src/icon.svg");
const icon = `icon-${createHash("sha256").update(iconBytes).digest("hex").slice(0, 8).toUpperCase()}.svg`;
writeFileSync(`${dist}assets/${icon}`, iconBytes);

const html = readFileSync("src/index.html", "utf8")
  .replace("%SCRIPT%", `/assets/${script}`)
  .replace("%STYLE%", `/assets/${style}`)
  .replace("%ICON%", `/assets/${icon}`);
writeFileSync(`${dist}index.html`, html);
console.log(`web: dist/index.html, assets/${script}, assets/${style}, assets/${icon}`);
