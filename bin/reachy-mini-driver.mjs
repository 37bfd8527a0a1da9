#!/usr/bin/env node
// Installed entry point: the sources are TypeScript run by Node 24's type stripping.
import '../src/cli.ts';
