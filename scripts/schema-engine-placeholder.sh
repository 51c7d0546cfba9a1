#!/bin/sh
# Stand-in for Prisma's native schema engine on machines that cannot download it.
# `prisma generate` never runs it; migrations go through scripts/migrate (WebAssembly engine).
echo "Prisma's native schema engine is not installed here; use 'npm run db:prepare' (WebAssembly engine) for migrations." >&2
exit 1
