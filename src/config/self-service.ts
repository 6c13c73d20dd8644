// Settings of the cabinet's self-service: EDS verification, one-time codes and their SMS
// gateway. Every one has a default; EDS login and registration need OFD_EDS_CA_FILE.
import { envInt, type Env } from './env-values.js';

export interface SelfServiceConfig {
  /** PEM file of the CA certificates a signer's chain must end at (unset: EDS refused). */
  edsCaFile: string | undefined;
  /** A CRL file (PEM or DER) to check signers against (unset: no revocation check). */
  edsCrlFile: string | undefined;
  /** SMS and e-mail gateway URLs (unset: codes are written to the log). */
  smsGatewayUrl: string | undefined;
  emailGatewayUrl: string | undefined;
  /** Lifetime of challenges and codes, wrong attempts allowed, sending limits per hour. */
  codeTtlSeconds: number;
  codeAttempts: number;
  codesPerPhone: number;
  codesPerAddress: number;
  codeWindowSeconds: number;
}

export function loadSelfServiceConfig(env: Env, problems: string[]): SelfServiceConfig {
  const int = envInt(env, problems);
  const opt = (name: string) => (env[name] ? env[name] : undefined);
  const url = (name: string) => {
    const value = opt(name);
    if (value && !/^https?:\/\//.test(value)) {
      problems.push(`${name}=${value}: expected an http(s) URL`);
    }
    return value;
  };
  return {
    edsCaFile: opt('OFD_EDS_CA_FILE'),
    edsCrlFile: opt('OFD_EDS_CRL_FILE'),
    smsGatewayUrl: url('OFD_SMS_GATEWAY_URL'),
    emailGatewayUrl: url('OFD_EMAIL_GATEWAY_URL'),
    codeTtlSeconds: int('OFD_OTP_TTL_S', 300, 30, 3600),
    codeAttempts: int('OFD_OTP_ATTEMPTS', 5, 1, 100),
    codesPerPhone: int('OFD_OTP_PER_PHONE', 5, 1, 1000),
    codesPerAddress: int('OFD_OTP_PER_ADDRESS', 20, 1, 100_000),
    codeWindowSeconds: 3600,
  };
}
