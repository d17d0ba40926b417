/** `tsvisor setup`: fetch and build the default guests (guest/setup.ts does the work). */
export async function runSetup(argv: string[]): Promise<number> {
  const setup = await import('../../guest/setup.js');
  return setup.runSetup(argv);
}
