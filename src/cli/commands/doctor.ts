import { ReaperError } from '../../model/errors.js';

// Placeholder until its issue lands.
export async function run(_argv: string[]): Promise<number> {
  throw new ReaperError('UNSUPPORTED', 'doctor: not implemented yet');
}
