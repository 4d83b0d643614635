/** The post step: terminate what the main step left behind. */
export async function run(): Promise<void> {}
