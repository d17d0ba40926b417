const m = await import('../src/cli/main.ts');
process.exitCode = await m.main(process.argv.slice(2));
