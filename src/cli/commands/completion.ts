import { ReaperError } from '../../model/errors.js';

// Placeholder until issue 6 lands.
export async function run(_argv: string[]): Promise<number> {
  throw new ReaperError('UNSUPPORTED', 'completion: not implemented yet');
}
