//! `DeriveSharedKey` (spec/signing.md §1): `sha256(ser33(k · E))`.

use bitcoin::secp256k1::{ecdh::SharedSecret, PublicKey};

use super::keyloc::{locator, locator_key, scan_family_for_key, KeyLocError};
use crate::keys::RootKey;
use crate::proto::signrpc::{SharedKeyRequest, SharedKeyResponse};

/// lnd's node identity key family.
pub const NODE_KEY_FAMILY: i32 = 6;

/// Why a `SharedKeyRequest` is rejected; the texts are lnd's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SharedKeyError {
    /// `ephemeral_pubkey` is not a valid 33-byte compressed point.
    #[error("error in ephemeral pubkey: {0}")]
    EphemeralPubkey(String),
    /// `ephemeral_pubkey` is empty.
    #[error("must provide ephemeral pubkey")]
    MissingEphemeralPubkey,
    /// Both `key_desc` and the deprecated `key_loc` are set.
    #[error("use either key_desc or key_loc")]
    KeyDescAndKeyLoc,
    /// `key_desc` without `key_desc.key_loc`.
    #[error("when setting key_desc the field key_desc.key_loc must also be set")]
    KeyDescWithoutKeyLoc,
    /// A raw key together with a non-zero index.
    #[error("use either raw_key_bytes or key_index")]
    RawKeyAndIndex,
    /// `key_desc.raw_key_bytes` is not a valid 33-byte compressed point.
    #[error("error in raw pubkey: {0}")]
    RawPubkey(String),
    /// The private key could not be derived.
    #[error("unable to derive shared key: {0}")]
    Derive(#[from] KeyLocError),
}

/// lnd's `parseRawKeyBytes`: empty ⇒ `None`; 33 bytes ⇒ must parse; other lengths ⇒ error.
fn parse_raw_key(bytes: &[u8]) -> Result<Option<PublicKey>, String> {
    match bytes.len() {
        0 => Ok(None),
        33 => PublicKey::from_slice(bytes)
            .map(Some)
            .map_err(|e| format!("invalid public key: {e}")),
        _ => Err("pubkey must be serialized in compressed format if specified".to_owned()),
    }
}

/// Answers a `SharedKeyRequest` exactly as lnd's `DeriveSharedKey` does.
pub fn derive_shared_key(
    root: &RootKey,
    req: &SharedKeyRequest,
) -> Result<SharedKeyResponse, SharedKeyError> {
    let ephemeral = parse_raw_key(&req.ephemeral_pubkey)
        .map_err(SharedKeyError::EphemeralPubkey)?
        .ok_or(SharedKeyError::MissingEphemeralPubkey)?;
    if req.key_desc.is_some() && req.key_loc.is_some() {
        return Err(SharedKeyError::KeyDescAndKeyLoc);
    }
    let (key_loc, raw_key) = match &req.key_desc {
        Some(desc) => (
            Some(desc.key_loc.ok_or(SharedKeyError::KeyDescWithoutKeyLoc)?),
            desc.raw_key_bytes.as_slice(),
        ),
        None => (req.key_loc, &[][..]),
    };
    let (family, index) = match key_loc {
        Some(loc) => locator(loc.key_family, loc.key_index),
        None => locator(NODE_KEY_FAMILY, 0),
    };
    if !raw_key.is_empty() && index != 0 {
        return Err(SharedKeyError::RawKeyAndIndex);
    }
    let raw = parse_raw_key(raw_key).map_err(SharedKeyError::RawPubkey)?;
    let secret = match raw {
        None => locator_key(root, family, index)?,
        Some(target) => scan_family_for_key(root, family, &target)?,
    };
    let shared = SharedSecret::new(&ephemeral, &secret);
    Ok(SharedKeyResponse {
        shared_key: shared.secret_bytes().to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Network;
    use crate::proto::signrpc::{KeyDescriptor, KeyLocator};

    const TPRV: &str = "tprv8ZgxMBicQKsPe6jS4vDm2n7s42Q6MpvghUQqMmSKG7bTZvGKtjrcU3PGzMNG37yzxywrcdvgkwrr8eYXJmbwdvUNVT4Ucv7ris4jvA7BUmg";
    const EPH: &str = "036360e856310ce5d294e8be33fc807077dc56ac80d95d9cd4ddbd21325eff73f7";

    type Loc = Option<(i32, i32)>;

    fn root() -> RootKey {
        RootKey::from_xprv(TPRV, Network::Regtest).expect("root")
    }

    fn req(key_loc: Loc, desc: Option<(Vec<u8>, Loc)>) -> SharedKeyRequest {
        let loc = |(f, i)| KeyLocator {
            key_family: f,
            key_index: i,
        };
        SharedKeyRequest {
            ephemeral_pubkey: hex::decode(EPH).expect("hex"),
            key_loc: key_loc.map(loc),
            key_desc: desc.map(|(raw, l)| KeyDescriptor {
                raw_key_bytes: raw,
                key_loc: l.map(loc),
            }),
        }
    }

    #[test]
    fn validation_order_and_texts() {
        let r = root();
        let mut q = req(None, None);
        q.ephemeral_pubkey.clear();
        assert_eq!(
            derive_shared_key(&r, &q),
            Err(SharedKeyError::MissingEphemeralPubkey)
        );
        q.ephemeral_pubkey = vec![2; 32];
        assert!(matches!(
            derive_shared_key(&r, &q),
            Err(SharedKeyError::EphemeralPubkey(_))
        ));
        // 33 bytes that are not on the curve (x = 5 has no square root... use 0x05 prefix).
        let mut bad = hex::decode(EPH).expect("hex");
        bad[0] = 0x05;
        q.ephemeral_pubkey = bad;
        let err = derive_shared_key(&r, &q).expect_err("bad point");
        assert!(
            err.to_string().starts_with("error in ephemeral pubkey: "),
            "{err}"
        );

        let q = req(Some((6, 0)), Some((vec![], Some((6, 0)))));
        assert_eq!(
            derive_shared_key(&r, &q),
            Err(SharedKeyError::KeyDescAndKeyLoc)
        );
        let q = req(None, Some((vec![], None)));
        assert_eq!(
            derive_shared_key(&r, &q),
            Err(SharedKeyError::KeyDescWithoutKeyLoc)
        );
        let node = r
            .lnd_key(6, 0)
            .expect("node")
            .public_key(bitcoin::secp256k1::SECP256K1);
        let q = req(None, Some((node.serialize().to_vec(), Some((6, 1)))));
        assert_eq!(
            derive_shared_key(&r, &q),
            Err(SharedKeyError::RawKeyAndIndex)
        );
        let q = req(None, Some((vec![3; 20], Some((6, 0)))));
        assert!(matches!(
            derive_shared_key(&r, &q),
            Err(SharedKeyError::RawPubkey(_))
        ));
    }

    #[test]
    fn defaults_to_node_key() {
        let r = root();
        let a = derive_shared_key(&r, &req(None, None)).expect("default");
        let b = derive_shared_key(&r, &req(Some((6, 0)), None)).expect("6/0");
        assert_eq!(a, b);
        assert_eq!(
            hex::encode(&a.shared_key),
            "4f4720de1d27b81d210e3b047122f0b0b4fa31e7339c9dc147ed90b4baed4807"
        );
    }
}
