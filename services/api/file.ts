/** A logical file (Pegasus' Python API `File`): an lfn, an optional size and metadata. */
import { AloftError } from '../../lib/errors/index.js';
import { assertLfn } from '../model/names.js';
import { Annotated } from './annotated.js';

export class File extends Annotated {
  readonly lfn: string;
  readonly size: number | undefined;

  /** `new File('f.a')`, `new File('data/f.b', 2048)`; the lfn is validated now. */
  constructor(lfn: string, size?: number) {
    super();
    this.lfn = assertLfn(lfn, `File(${JSON.stringify(lfn)})`);
    if (size !== undefined && !(Number.isInteger(size) && size >= 0))
      throw AloftError.invalid({
        where: `File(${JSON.stringify(lfn)})`,
        message: `size ${size} is not a whole number of bytes`,
      });
    this.size = size;
    if (size !== undefined) this.metadata['size'] = String(size);
  }

  protected describe(): string {
    return `File(${this.lfn})`;
  }

  override addProfiles(): this {
    throw AloftError.invalid({
      where: this.describe(),
      message: 'files have no profiles',
      hint: 'add profiles to the job, transformation or site instead',
    });
  }

  override toString(): string {
    return this.lfn;
  }
}

/** A File or a bare lfn, as the authoring calls accept. */
export type FileLike = File | string;

export function asFile(f: FileLike): File {
  return f instanceof File ? f : new File(f);
}
