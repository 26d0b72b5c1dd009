import { must, type CommandRunner } from './runner.js';

/**
 * Applies an nft script inside a container's network namespace:
 * `nsenter --net=/proc/<pid>/ns/net nft -f -` (the host's nft binary, the
 * container's namespace; nothing is installed in the image). The path is
 * absolute, so this works from an agent that itself runs inside another
 * namespace (the test bed's hosts).
 */
export interface NamespaceFirewall {
  apply(pid: number, script: string): Promise<void>;
}

export class NsenterNft implements NamespaceFirewall {
  constructor(
    private readonly runner: CommandRunner,
    private readonly nft = 'nft',
  ) {}

  async apply(pid: number, script: string): Promise<void> {
    if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no process to enter (pid ${pid})`);
    await must(this.runner, 'nsenter', [`--net=/proc/${pid}/ns/net`, '--', this.nft, '-f', '-'], { input: script });
  }
}
