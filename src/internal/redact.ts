/**
 * Redaction by name: applied inside a probe's capture so a sensitive value never leaves it,
 * and to the header values put on spans (`headerTags`). Names
 * are compared after normalisation (lower case, without `_`, `-`, `$`, `@`, `.` and spaces),
 * so `apiKey`, `api-key`, `API_KEY` and `x-api-key` hit the same entry, and `member_no`,
 * `memberNo` and `member-no` are one rule.
 */

/** Sensitive names redacted by default (normalised spelling). */
const DEFAULT_REDACTED: readonly string[] = [
  '2fa', 'accesstoken', 'aiohttpsession', 'apikey', 'apisecret', 'apisignature', 'applicationkey', 'appkey',
  'auth', 'authorization', 'authtoken', 'bankaccount', 'bearer', 'cardnumber', 'ccnumber', 'certificatepin',
  'cipher', 'clientid', 'clientsecret', 'connectionstring', 'connectsid', 'cookie', 'credentials', 'creditcard',
  'csrf', 'csrftoken', 'cvc', 'cvv', 'databaseurl', 'dburl', 'encryptionkey', 'encryptionkeyid', 'geolocation',
  'gpgkey', 'iban', 'idrsa', 'ipaddress', 'jti', 'jwt', 'licensekey', 'masterkey', 'mysqlpwd', 'nonce', 'oauth',
  'oauthtoken', 'otp', 'passhash', 'passwd', 'password', 'passwordb', 'pemfile', 'pgpkey', 'phpsessid', 'pin',
  'pincode', 'pkcs8', 'privatekey', 'publickey', 'pwd', 'recaptchakey', 'refreshtoken', 'routingnumber',
  'salt', 'secret', 'secretkey', 'secrettoken', 'securityanswer', 'securitycode', 'securityquestion',
  'serviceaccountcredentials', 'session', 'sessionid', 'sessionkey', 'setcookie', 'signature', 'signaturekey',
  'sshkey', 'ssn', 'symfony', 'token', 'transactionid', 'twiliotoken', 'usersession', 'voterid', 'xapikey',
  'xauthtoken', 'xcsrftoken', 'xforwardedfor', 'xrealip', 'xsrf', 'xsrftoken',
];

/** The spelling-independent form of a name. */
export function normalizeName(name: string): string {
  let out = '';
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 95 || c === 45 || c === 36 || c === 64 || c === 46 || c === 32) continue; // _ - $ @ . space
    out += c >= 65 && c <= 90 ? String.fromCharCode(c + 32) : name[i];
  }
  return out;
}

export class Redactor {
  private readonly names = new Set<string>();
  /** A cache of names already decided, so a hot capture normalises each key once. */
  private readonly decided = new Map<string, boolean>();
  /** Values replaced, over the process lifetime. */
  count = 0;

  constructor(additions: readonly string[] = [], exclusions: readonly string[] = []) {
    for (const n of DEFAULT_REDACTED) this.names.add(n);
    for (const n of additions) if (n.trim() !== '') this.names.add(normalizeName(n.trim()));
    for (const n of exclusions) this.names.delete(normalizeName(n.trim()));
  }

  /** Is a value under this key or variable name to be redacted? */
  isRedacted(name: string): boolean {
    let hit = this.decided.get(name);
    if (hit === undefined) {
      hit = this.names.has(normalizeName(name));
      if (this.decided.size > 10_000) this.decided.clear();
      this.decided.set(name, hit);
    }
    return hit;
  }
}
