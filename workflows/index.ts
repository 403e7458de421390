export { systemCheck } from './system-check';
export { produceContent } from './produce-content';
export { publishToChannel } from './publish-to-channel';
