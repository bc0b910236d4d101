/** Coded errors of the profile area (load, match). Both are fatal at start: a bad profile set is a config bug. */
export const GW_ERR_PROFILE = {
  INVALID: 'GW_ERR_PROFILE_INVALID', // one or more profile files failed to parse/validate (details: all problems)
  NOT_FOUND: 'GW_ERR_PROFILE_NOT_FOUND', // explicit profile id unknown, or no profile matches the device
} as const;

export type ProfileErrorCode = (typeof GW_ERR_PROFILE)[keyof typeof GW_ERR_PROFILE];

export class ProfileError extends Error {
  readonly code: ProfileErrorCode;
  readonly kind = 'fatal' as const;
  readonly details?: string[];

  constructor(code: ProfileErrorCode, message: string, options?: { cause?: unknown; details?: string[] }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'ProfileError';
    this.code = code;
    if (options?.details) this.details = options.details;
  }
}
