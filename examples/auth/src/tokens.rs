//! [`Tokens`]: short-lived JWTs (HS256) that name a user, issued by `POST /login` and checked
//! on the handshake, on CONNECT and when a client sends a fresh one.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::refusal::Refusal;

/// What a token says: who it is for, since and until when (seconds since the Unix epoch).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Claims {
    pub(crate) sub: String,
    #[serde(default)]
    pub(crate) iat: u64,
    pub(crate) exp: u64,
}

impl Claims {
    /// When the token expires.
    pub(crate) fn expires(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.exp)
    }
}

/// Issues and checks tokens with one secret.
#[derive(Clone)]
pub(crate) struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    lifetime: Duration,
}

impl Tokens {
    /// Tokens signed with `secret`, each good for `lifetime` (rounded up to whole seconds,
    /// the unit of `exp`).
    pub(crate) fn new(secret: &[u8], lifetime: Duration) -> Tokens {
        let mut validation = Validation::new(Algorithm::HS256);
        // No grace period: a token is refused from its `exp` on, the moment its sockets are
        // disconnected (`verify` checks that to the second; the crate's own check lets a
        // token through during the second of its `exp`).
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Tokens {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            lifetime,
        }
    }

    /// A token for `user`, and its claims.
    pub(crate) fn issue(&self, user: &str) -> (String, Claims) {
        let now = SystemTime::now();
        let claims = Claims {
            sub: user.to_owned(),
            iat: seconds(now),
            exp: seconds(now + self.lifetime + Duration::from_millis(999)),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing with a secret cannot fail");
        (token, claims)
    }

    /// The claims of `token` if it is ours and has not expired.
    pub(crate) fn verify(&self, token: &str) -> Result<Claims, Refusal> {
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|error| match error.kind() {
                ErrorKind::ExpiredSignature => Refusal::TokenExpired,
                _ => Refusal::InvalidToken,
            })?
            .claims;
        if claims.expires() <= SystemTime::now() {
            return Err(Refusal::TokenExpired);
        }
        Ok(claims)
    }
}

/// `time` in whole seconds since the Unix epoch.
fn seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_checked() {
        let tokens = Tokens::new(b"a secret", Duration::from_secs(60));
        let (token, issued) = tokens.issue("ada");
        let claims = tokens.verify(&token).expect("a fresh token is good");
        assert_eq!((claims.sub.as_str(), claims.exp), ("ada", issued.exp));

        let others = Tokens::new(b"another secret", Duration::from_secs(60));
        let (foreign, _) = others.issue("ada");
        let expired = Tokens::new(b"a secret", Duration::ZERO);
        let (stale, _) = expired.issue("ada");
        std::thread::sleep(Duration::from_millis(1_100));
        let cases = [
            (foreign.as_str(), Refusal::InvalidToken),
            ("not.a.token", Refusal::InvalidToken),
            ("", Refusal::InvalidToken),
            (stale.as_str(), Refusal::TokenExpired),
        ];
        for (token, refusal) in cases {
            assert_eq!(tokens.verify(token).err(), Some(refusal), "{token:?}");
        }
    }
}
