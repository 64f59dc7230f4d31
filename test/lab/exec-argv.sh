#!/bin/sh
# sbatch wrapper: runs its arguments as the job's argv, with no shell parsing in between.
exec "$@"
