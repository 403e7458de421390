import { stackStatus, startStack, stopStack, type Profile } from './local-stack';

const USAGE = `usage: npm run stack -- <start|stop|status|env> [--profile dev|test]

  start   start the local services (left running) and write .autoclip/<profile>/stack.env
  stop    stop the services started by 'start'
  status  show each service, its pid and port, and whether it answers
  env     start if needed, then print the environment as shell exports`;

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  const flag = rest.indexOf('--profile');
  const profile = (flag >= 0 ? rest[flag + 1] : 'dev') as Profile;
  if (!command || !['start', 'stop', 'status', 'env'].includes(command) || !['dev', 'test'].includes(profile)) {
    console.error(USAGE);
    process.exit(2);
  }
  if (command === 'start' || command === 'env') {
    const stack = await startStack(profile);
    if (command === 'env') {
      for (const [k, v] of Object.entries(stack.env)) console.log(`export ${k}='${v}'`);
    } else {
      console.log(`stack '${profile}' is up; its environment is in ${stack.envFile}`);
      console.log(`load it with: set -a; . ${stack.envFile}; set +a`);
      if (stack.env.TEMPORAL_UI_URL) console.log(`Temporal Web UI: ${stack.env.TEMPORAL_UI_URL}`);
    }
  } else if (command === 'stop') {
    const stopped = await stopStack(profile);
    console.log(stopped.length ? `stopped: ${stopped.join(', ')}` : 'nothing was running');
  } else {
    for (const s of await stackStatus(profile)) {
      const state = s.external ? 'external' : s.answering ? 'up' : s.pid ? 'starting/unhealthy' : 'down';
      console.log(`${s.name.padEnd(9)} ${state.padEnd(18)} port ${s.port}${s.pid ? `  pid ${s.pid}` : ''}`);
    }
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
