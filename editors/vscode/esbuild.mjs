// Bundles the extension (dist/extension.js) and the vscode-free modules used by the unit tests (out/*.js).
import * as esbuild from 'esbuild';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

const common = {
  bundle: true,
  platform: 'node',
  target: 'node18',
  format: 'cjs',
  logLevel: 'info',
};

const contexts = [
  await esbuild.context({
    ...common,
    entryPoints: ['src/extension.ts'],
    outfile: 'dist/extension.js',
    external: ['vscode'],
    minify: production,
    sourcemap: !production,
    sourcesContent: false,
  }),
  await esbuild.context({
    ...common,
    entryPoints: ['src/util.ts', 'src/platform.ts', 'src/serverLocator.ts', 'src/doctor.ts', 'src/languages.ts', 'src/results/sanitize.ts', 'src/results/render.ts', 'src/results/runs.ts', 'src/results/images.ts', 'src/mcp/definitions.ts'],
    outbase: 'src',
    outdir: 'out',
  }),
];

if (watch) {
  await Promise.all(contexts.map((c) => c.watch()));
} else {
  for (const c of contexts) {
    await c.rebuild();
    await c.dispose();
  }
}
