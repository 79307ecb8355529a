// run.mjs: the seed program (seed.ts) as JavaScript, run in a child node (seed.test.mjs,
// auth_seed.test.mjs).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../runnel.mjs';

const SEED_TS = path.join(REPO_ROOT, 'tests', 'integration', 'seed', 'seed.ts');

/** The seed program as JavaScript: the TypeScript with its type annotations removed. */
export function stripTypes(ts) {
  return ts
    .replace(/\): Promise<any> \{/g, ') {')
    .replace(/\b(\w+): string\b/g, '$1')
    .replace(/\b(\w+): any\b/g, '$1');
}

export function runSeed(endpoint, timeoutMs = 30000) {
  const js = stripTypes(fs.readFileSync(SEED_TS, 'utf8'));
  return new Promise((resolve, reject) => {
    const env = { ...process.env, KINESIS_ENDPOINT: endpoint };
    // Keep the program's own credentials/region lines in charge: no profile or env credentials.
    for (const k of Object.keys(env)) if (k.startsWith('AWS_')) delete env[k];
    const child = spawn(process.execPath, ['--input-type=module', '-'], { cwd: REPO_ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ } }, timeoutMs);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }); });
    child.stdin.end(js);
  });
}

