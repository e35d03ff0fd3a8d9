import { runCli } from './main';

// The bundled entry point: bin/linestation.mjs imports the esbuild output of this file.
const code = await runCli(process.argv.slice(2));
process.exitCode = code;
