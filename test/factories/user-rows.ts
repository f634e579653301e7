import { usernameKey } from '@/modules/users/identity';
import type { User } from '@/modules/users/user.entity';

// Account rows for unit specs, which build services with fakes and need no app: users.ts beside this file signs
// accounts up over HTTP and loads the whole app with it.

/** The password whose (fake) hash person() stores: `hash:<password>`, as the specs' fake hashers compare. */
export const PERSON_PASSWORD = 'right-password';
export const PERSON_PHONE = '+8613800138000';

/** An active normal user with a verified email (its display case differs from its key), a phone, and no MFA. */
export function person(over: Partial<User> = {}): User {
  return {
    id: 'user-1',
    username: 'alice_01',
    usernameKey: usernameKey('alice_01'),
    email: 'Alice@Example.com',
    emailKey: 'alice@example.com',
    emailVerified: true,
    phone: PERSON_PHONE,
    passwordHash: `hash:${PERSON_PASSWORD}`,
    role: 'normal_user',
    status: 'active',
    mfaMethods: null,
    ...over,
  } as User;
}
