//! MuSig2 as lnd implements the BIP draft v0.4.0 (`internal/musig2v040`,
//! a frozen copy of btcec v2.2.2): our own implementation on the `secp`
//! crate's point/scalar types over libsecp256k1.
//!
//! Differences from BIP-327 (V100RC2), all reproduced here:
//! * signer keys are x-only: the key list hash `KeyAgg list` and the
//!   coefficient hash `KeyAgg coefficient` use 32-byte x-only encodings,
//!   keys are sorted and compared by x-only bytes;
//! * key aggregation multiplies each key *as given* (the RPC lifts x-only
//!   keys to even Y; lnd's library tests also pass odd keys);
//! * the signer negates its secret key when its own public key has odd Y;
//! * nonce generation has no individual-public-key input and a 64-byte
//!   secret nonce (see [`super::hash::nonce_gen_v040`]).
//!
//! Nonce aggregation, the nonce coefficient, the final nonce (infinity ⇒ G),
//! the BIP-340 challenge, tweak handling and signature aggregation are the
//! same as in BIP-327.

use musig2::{AggNonce, PubNonce};
use secp::{MaybePoint, MaybeScalar, Point, Scalar, G};

use super::hash::tagged_hash;
use super::{EffectiveTweak, Tweak32};

/// A v0.4.0 key aggregation context (sorted key set, aggregate keys and the
/// tweak accumulators).
#[derive(Clone, Debug)]
pub(crate) struct KeyAgg {
    keys: Vec<Point>,
    list_hash: [u8; 32],
    second_xonly: Option<[u8; 32]>,
    internal: Point,
    output: Point,
    gacc_negated: bool,
    tacc: MaybeScalar,
}

fn neg_if(p: Point, cond: bool) -> Point {
    if cond {
        -p
    } else {
        p
    }
}

fn scalar_neg_if(s: Scalar, cond: bool) -> Scalar {
    if cond {
        -s
    } else {
        s
    }
}

impl KeyAgg {
    /// Aggregate `keys` (sorted by x-only encoding when `sort`), then apply
    /// the effective tweak. Errors use lnd's texts.
    pub(crate) fn new(keys: &[Point], sort: bool, tweak: &EffectiveTweak) -> Result<Self, String> {
        let mut keys = keys.to_vec();
        if sort {
            keys.sort_by_key(|k| k.serialize_xonly());
        }
        let mut list = Vec::with_capacity(32 * keys.len());
        for k in &keys {
            list.extend_from_slice(&k.serialize_xonly());
        }
        let list_hash = tagged_hash(b"KeyAgg list", &[&list]);
        let first = keys
            .first()
            .map(Point::serialize_xonly)
            .ok_or_else(|| "need at least one key".to_string())?;
        let second_xonly = keys
            .iter()
            .map(Point::serialize_xonly)
            .find(|x| *x != first);
        let mut agg = KeyAgg {
            keys,
            list_hash,
            second_xonly,
            internal: Point::generator(),
            output: Point::generator(),
            gacc_negated: false,
            tacc: MaybeScalar::Zero,
        };
        let sum = MaybePoint::sum(agg.keys.iter().map(|k| agg.coefficient(k) * *k));
        let internal = sum
            .into_option()
            .ok_or_else(|| "aggregate key is the point at infinity".to_string())?;
        agg.internal = internal;
        agg.output = internal;
        let tweaks: Vec<Tweak32> = match tweak {
            EffectiveTweak::None => Vec::new(),
            EffectiveTweak::Bip86 => vec![Tweak32 {
                tweak: tagged_hash(b"TapTweak", &[&internal.serialize_xonly()]),
                x_only: true,
            }],
            EffectiveTweak::ScriptRoot(root) => vec![Tweak32 {
                tweak: tagged_hash(b"TapTweak", &[&internal.serialize_xonly(), root]),
                x_only: true,
            }],
            EffectiveTweak::Generic(t) => t.clone(),
        };
        for t in &tweaks {
            agg.apply_tweak(t)?;
        }
        Ok(agg)
    }

    fn apply_tweak(&mut self, t: &Tweak32) -> Result<(), String> {
        let tweak =
            MaybeScalar::from_slice(&t.tweak).map_err(|_| "tweaked key is to large".to_string())?;
        let g = t.x_only && self.output.has_odd_y();
        let q = neg_if(self.output, g) + tweak * G;
        self.output = q
            .into_option()
            .ok_or_else(|| "tweaked key is infinity point".to_string())?;
        self.gacc_negated ^= g;
        self.tacc = if g { -self.tacc } else { self.tacc } + tweak;
        Ok(())
    }

    /// `a_i`: 1 for the second unique key, else `hash_KeyAgg coefficient(L ‖ x(P))`.
    fn coefficient(&self, key: &Point) -> MaybeScalar {
        let x = key.serialize_xonly();
        if self.second_xonly == Some(x) {
            return MaybeScalar::one();
        }
        MaybeScalar::reduce_from(&tagged_hash(b"KeyAgg coefficient", &[&self.list_hash, &x]))
    }

    /// The aggregate key before tweaks (lnd's `PreTweakedKey`).
    pub(crate) fn internal_key(&self) -> Point {
        self.internal
    }

    /// The final (tweaked) aggregate key (lnd's `FinalKey`).
    pub(crate) fn output_key(&self) -> Point {
        self.output
    }

    fn final_nonce_and_coeff(&self, aggnonce: &AggNonce, msg: &[u8; 32]) -> (Point, MaybeScalar) {
        let b: MaybeScalar = aggnonce.nonce_coefficient(self.output, msg);
        let r: Point = aggnonce.final_nonce(b);
        (r, b)
    }

    fn challenge(&self, r: &Point, msg: &[u8; 32]) -> MaybeScalar {
        MaybeScalar::reduce_from(&tagged_hash(
            b"BIP0340/challenge",
            &[&r.serialize_xonly(), &self.output.serialize_xonly(), msg],
        ))
    }

    /// v0.4.0 partial signing with the secret nonce `(k1, k2)` and secret key
    /// `sk`; verifies the result before returning it (as btcec does).
    pub(crate) fn sign(
        &self,
        k1: Scalar,
        k2: Scalar,
        sk: Scalar,
        aggnonce: &AggNonce,
        msg: &[u8; 32],
    ) -> Result<MaybeScalar, String> {
        let (r, b) = self.final_nonce_and_coeff(aggnonce, msg);
        let k1n = scalar_neg_if(k1, r.has_odd_y());
        let k2n = scalar_neg_if(k2, r.has_odd_y());
        let pubkey = sk.base_point_mul();
        let d = scalar_neg_if(
            sk,
            pubkey.has_odd_y() ^ self.output.has_odd_y() ^ self.gacc_negated,
        );
        let e = self.challenge(&r, msg);
        let a = self.coefficient(&pubkey.to_even_y());
        let s = k1n + b * k2n + e * a * d;
        let pubnonce = PubNonce {
            R1: k1.base_point_mul(),
            R2: k2.base_point_mul(),
        };
        if !self.verify_partial(s, &pubnonce, &pubkey, aggnonce, msg) {
            return Err("sig is invalid!".to_string());
        }
        Ok(s)
    }

    /// Partial signature verification: `s·G == R1 + b·R2 (negated when R is
    /// odd) + e·a·g·P` with `P` the even-Y lift of the signer key.
    pub(crate) fn verify_partial(
        &self,
        s: MaybeScalar,
        pubnonce: &PubNonce,
        pubkey: &Point,
        aggnonce: &AggNonce,
        msg: &[u8; 32],
    ) -> bool {
        let (r, b) = self.final_nonce_and_coeff(aggnonce, msg);
        let mut re = pubnonce.R1 + b * pubnonce.R2;
        if r.has_odd_y() {
            re = -re;
        }
        let p = pubkey.to_even_y();
        let e = self.challenge(&r, msg);
        let a = self.coefficient(&p);
        let g = self.output.has_odd_y() ^ self.gacc_negated;
        let mut ep = e * a * p;
        if g {
            ep = -ep;
        }
        s * G == re + ep
    }

    /// Sum the partial signatures, add the tweak term `e·g·tacc` and return
    /// the 64-byte BIP-340 signature `x(R) ‖ s` after verifying it.
    pub(crate) fn aggregate(
        &self,
        aggnonce: &AggNonce,
        psigs: &[MaybeScalar],
        msg: &[u8; 32],
    ) -> Result<[u8; 64], String> {
        let (r, _) = self.final_nonce_and_coeff(aggnonce, msg);
        let e = self.challenge(&r, msg);
        let mut s = psigs.iter().fold(MaybeScalar::Zero, |acc, p| acc + *p);
        let tweak_term = e * self.tacc;
        s += if self.output.has_odd_y() {
            -tweak_term
        } else {
            tweak_term
        };
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&r.serialize_xonly());
        sig[32..].copy_from_slice(&s.serialize());
        if !super::bip327::verify_bip340(&self.output.serialize_xonly(), msg, &sig) {
            return Err("final signature is invalid".to_string());
        }
        Ok(sig)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xonly(h: &str) -> Point {
        let b: [u8; 32] = hex::decode(h).expect("hex").try_into().expect("32 bytes");
        Point::lift_x(&b).expect("x-only point")
    }

    // lnd input/musig2_test.go TestMuSig2CombineKeys (v0.4.0 cases) —
    // the conformance test checks all of them from vectors/lnd/musig2.json;
    // this one keeps a quick unit check beside the code.
    #[test]
    fn combine_keys_bip86_three_vector_keys() {
        let keys = [
            xonly("F9308A019258C31049344F85F89D5229B531C845836F99B08601F113BCE036F9"),
            xonly("DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659"),
            xonly("3590A94E768F8E1815C2F24B4D80A8E3149316C3518CE7B7AD338368D038CA66"),
        ];
        let agg = KeyAgg::new(&keys, true, &EffectiveTweak::Bip86).expect("agg");
        assert_eq!(
            hex::encode(agg.output_key().serialize()),
            "025b257b4e785d61157ef5303051f45184bd5cb47bc4b4069ed4dd4536459cb83b"
        );
        assert_eq!(
            hex::encode(agg.internal_key().serialize()),
            "02d70cd69a2647f7390973df48cbfa2ccc407b8b2d60b08c5f1641185c7998a290"
        );
    }

    fn hex32(h: &str) -> [u8; 32] {
        hex::decode(h).expect("hex").try_into().expect("32 bytes")
    }

    /// The v0.4.0 draft signing vectors that lnd's `internal/musig2v040`
    /// tests (`TestMuSig2SigningTestVectors`): unsorted x-only keys, fixed
    /// secret nonce, with and without tweaks. Also checks the partial
    /// signature verifies and that a wrong one does not.
    #[test]
    fn draft_v040_signing_vectors() {
        let sk =
            Scalar::from_hex("7FB9E0E687ADA1EEBF7ECFE2F21E73EBDB51A7D450948DFE8D76D7F2D1007671")
                .expect("sk");
        let k1 =
            Scalar::from_hex("508B81A611F100A6B2B6B29656590898AF488BCF2E1F55CF22E5CFB84421FE61")
                .expect("k1");
        let k2 =
            Scalar::from_hex("FA27FD49B1D50085B481285E1CA205D55C82CC1B31FF5CD54A489829355901F7")
                .expect("k2");
        let msg = hex32("F95466D086770E689964664219266FE5ED215C92AE20BAB5C9D79ADDDDF3C0CF");
        let keys = [
            sk.base_point_mul().to_even_y(),
            xonly("F9308A019258C31049344F85F89D5229B531C845836F99B08601F113BCE036F9"),
            xonly("DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659"),
        ];
        let agg_nonce = AggNonce::from_hex(
            "028465FCF0BBDBCF443AABCCE533D42B4B5A10966AC09A49655E8C42DAAB8FCD61037496A3CC86926D452CAFCFD55D25972CA1675D549310DE296BFF42F72EEEA8C9",
        )
        .expect("aggnonce");
        let pn1 = PubNonce::from_hex("0337C87821AFD50A8644D820A8F3E02E499C931865C2360FB43D0A0D20DAFE07EA0287BF891D2A6DEAEBADC909352AA9405D1428C15F4B75F04DAE642A95C2548480").expect("pnonce1");
        let pn4 = PubNonce::from_hex("0237C87821AFD50A8644D820A8F3E02E499C931865C2360FB43D0A0D20DAFE07EA0387BF891D2A6DEAEBADC909352AA9405D1428C15F4B75F04DAE642A95C2548480").expect("pnonce4");
        let inf_nonce = AggNonce::sum([pn1, pn4]);
        let t1 = hex32("E8F791FF9225A2AF0102AFFF4A9A723D9612A682A25EBE79802B263CDFCD83BB");
        let t2 = hex32("ae2ea797cc0fe72ac5b97b97f3c6957d7e4199a167a58eb08bcaffda70ac0455");
        let t3 = hex32("f52ecbc565b3d8bea2dfd5b75a4f457e54369809322e4120831626f290fa87e0");
        let t4 = hex32("1969ad73cc177fa0b4fced6df1f7bf9907e665fde9ba196a74fed0a3cf5aef9d");
        let tw = |t: [u8; 32], x_only: bool| Tweak32 { tweak: t, x_only };
        let cases: Vec<(Vec<usize>, &AggNonce, Vec<Tweak32>, &str)> = vec![
            (
                vec![0, 1, 2],
                &agg_nonce,
                vec![],
                "68537CC5234E505BD14061F8DA9E90C220A181855FD8BDB7F127BB12403B4D3B",
            ),
            (
                vec![1, 0, 2],
                &agg_nonce,
                vec![],
                "2DF67BFFF18E3DE797E13C6475C963048138DAEC5CB20A357CECA7C8424295EA",
            ),
            (
                vec![1, 2, 0],
                &agg_nonce,
                vec![],
                "0D5B651E6DE34A29A12DE7A8B4183B4AE6A7F7FBE15CDCAFA4A3D1BCAABC7517",
            ),
            (
                vec![0, 1],
                &inf_nonce,
                vec![],
                "8D5E0407FB4756EEBCD86264C32D792EE36EEB69E952BBB30B8E41BEBC4D22FA",
            ),
            (
                vec![1, 2, 0],
                &agg_nonce,
                vec![tw(t1, true)],
                "5e24c7496b565debc3b9639e6f1304a21597f9603d3ab05b4913641775e1375b",
            ),
            (
                vec![1, 2, 0],
                &agg_nonce,
                vec![tw(t1, false)],
                "78408ddcab4813d1394c97d493ef1084195c1d4b52e63ecd7bc5991644e44ddd",
            ),
            (
                vec![1, 2, 0],
                &agg_nonce,
                vec![tw(t1, false), tw(t2, true)],
                "C3A829A81480E36EC3AB052964509A94EBF34210403D16B226A6F16EC85B7357",
            ),
            (
                vec![1, 2, 0],
                &agg_nonce,
                vec![tw(t1, true), tw(t2, false), tw(t3, true), tw(t4, false)],
                "8C4473C6A382BD3C4AD7BE59818DA5ED7CF8CEC4BC21996CFDA08BB4316B8BC7",
            ),
        ];
        for (i, (order, nonce, tweaks, want)) in cases.into_iter().enumerate() {
            let set: Vec<Point> = order.iter().map(|&j| keys[j]).collect();
            let tweak = if tweaks.is_empty() {
                EffectiveTweak::None
            } else {
                EffectiveTweak::Generic(tweaks)
            };
            let agg = KeyAgg::new(&set, false, &tweak).expect("key agg");
            let s = agg.sign(k1, k2, sk, nonce, &msg).expect("sign");
            assert_eq!(hex::encode(s.serialize()), want.to_lowercase(), "case {i}");
            let pubnonce = PubNonce {
                R1: k1.base_point_mul(),
                R2: k2.base_point_mul(),
            };
            let pk = sk.base_point_mul();
            assert!(
                agg.verify_partial(s, &pubnonce, &pk, nonce, &msg),
                "case {i}: verify"
            );
            assert!(
                !agg.verify_partial(-s, &pubnonce, &pk, nonce, &msg),
                "case {i}: negated must fail"
            );
        }
    }
}
