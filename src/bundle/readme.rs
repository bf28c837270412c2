//! The wallet birthday as every accounts export shows it, and the
//! watch-only bundle's `README.txt`.
//!
//! `lncli createwatchonly` asks for "an optional wallet birthday unix
//! timestamp of first block to start scanning from (default 0)"; left at 0,
//! lnd rescans the chain from genesis. An aezeed seed knows its birthday
//! (the day it was created); an extended master key (xprv) has none.

use crate::keys::{Network, SeedInput};
use crate::macaroon::BAKE_COMMAND;

/// The prompt of `lncli createwatchonly` that asks for the birthday.
pub const BIRTHDAY_PROMPT: &str = "Input an optional wallet birthday unix timestamp of first block to start scanning from (default 0):";

/// A wallet's birthday, as far as the signer knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Birthday {
    /// The aezeed seed's birthday (Unix seconds).
    Seed(u64),
    /// An extended master key: no birthday exists.
    None,
}

impl Birthday {
    /// The birthday of `seed`, given the `birthday_unix` that
    /// [`SeedInput::to_root`] (or the vault) returned for it: an aezeed's
    /// own, none for an extended key (whose `birthday_unix` is only lnd's
    /// default).
    pub fn of_seed(seed: &SeedInput, birthday_unix: u64) -> Birthday {
        match seed {
            SeedInput::Aezeed { .. } => Birthday::Seed(birthday_unix),
            SeedInput::Xprv(_) => Birthday::None,
        }
    }

    /// The timestamp to type at the prompt, if there is one.
    pub fn unix(self) -> Option<u64> {
        match self {
            Birthday::Seed(t) => Some(t),
            Birthday::None => None,
        }
    }

    /// Two lines (each without a line end) for a terminal or a page: the
    /// birthday with its date in words, and what to do with it.
    pub fn lines(self) -> [String; 2] {
        match self {
            Birthday::Seed(t) => [
                format!(
                    "wallet birthday: {t} ({}), the day this aezeed seed was created",
                    format_utc_words(t)
                ),
                format!(
                    "type {t} at lncli createwatchonly's birthday prompt (with initwallet: master_key_birthday_timestamp = {t}); left at 0, lnd rescans the chain from genesis"
                ),
            ],
            Birthday::None => [
                "wallet birthday: none (an extended master key carries no birthday)".to_owned(),
                "at lncli createwatchonly's birthday prompt (with initwallet: master_key_birthday_timestamp) type the unix time of a day shortly before the wallet's funds were first received, e.g. `date -u -d 2024-05-01 +%s`; left at 0, lnd rescans the chain from genesis".to_owned(),
            ],
        }
    }
}

const WEEKDAYS: [&str; 7] = [
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// (year, month 1–12, day) of a day count since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `Wednesday 1 May 2024, 18:15:05 UTC`.
pub fn format_utc_words(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    let (y, m, d) = civil(days);
    format!(
        "{} {d} {} {y}, {:02}:{:02}:{:02} UTC",
        WEEKDAYS[days.rem_euclid(7) as usize],
        MONTHS[(m - 1) as usize],
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// The watch-only bundle's `README.txt` for a signer on `network` whose
/// seed has `birthday`.
pub fn watch_only_readme(network: Network, birthday: Birthday) -> String {
    let [b1, b2] = birthday.lines();
    let answer = match birthday {
        Birthday::Seed(t) => format!("{t}"),
        Birthday::None => "the unix time of a day before the funds were first received".to_owned(),
    };
    let net = network.name();
    format!(
        r#"credentials-bundle: watch-only setup for lnd (made by lnd-web-signer)

accounts.json  the signer's public accounts (`lncli wallet accounts list`
               format): xpubs only, no private key
README.txt     this file

The signer (lnd-web-signer: command line, browser tab, extension or
worker) holds the seed; this lnd is a watch-only node ({net}) that asks the
signer for every signature.

Wallet birthday
---------------
{b1}
{b2}

1. lnd.conf
-----------
Merge these options into lnd.conf (next to your chain backend options) and
start lnd; it waits for a wallet:

    [Bitcoin]
    bitcoin.{net}=true

    [remotesigner]
    remotesigner.enable=true
    remotesigner.experimentalallowinboundconnection=true
    ; the signer's listener: expose it only to the signer (or signer-bridge)
    remotesigner.experimentalrpclisten=0.0.0.0:10019
    remotesigner.experimentalrequesttimeout=5s
    remotesigner.experimentalstartuptimeout=5m

    [healthcheck]
    healthcheck.remotesigner.interval=1m
    healthcheck.remotesigner.timeout=5s
    healthcheck.remotesigner.attempts=1
    healthcheck.remotesigner.backoff=30s

Leave tlsencryptkey, letsencryptdomain and tlsautorefresh off: the signer
pins lnd's tls.cert.

2. The signer's macaroon
------------------------
Bake it offline with a root key of your choice (the same key goes to
createwatchonly below); it grants only remotesigner:generate:

    ROOTKEY=$(openssl rand -hex 32)
    {BAKE_COMMAND}

Pack what the signer needs to reach this node, on this machine, and give the
.tar.gz or .b64 file to the signer:

    lnd-web-signer bundle signer --tlscertpath ~/.lnd/tls.cert \
        --macaroonpath signer.macaroon --rpchost THIS_HOST:10019 --out DIR
    # a browser signer behind signer-bridge and Envoy: --bridge-url https://...

Start the signer first (`lnd-web-signer connect --bundle FILE ...` or the
tab's import); it retries until lnd's signer listener exists.

3. The watch-only wallet
------------------------
    lncli createwatchonly --mac_root_key $ROOTKEY accounts.json

It asks for a wallet password (twice), then

    {BIRTHDAY_PROMPT}

answer: {answer}

and an address look-ahead (Enter keeps 2500). With the initwallet RPC
instead, pass the birthday as watch_only.master_key_birthday_timestamp.
lnd then opens the signer listener, the signer registers and lnd finishes
starting (`lncli getinfo` shows the signer's node key).
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_words() {
        assert_eq!(format_utc_words(0), "Thursday 1 January 1970, 00:00:00 UTC");
        assert_eq!(
            format_utc_words(1_231_006_505),
            "Saturday 3 January 2009, 18:15:05 UTC"
        );
        assert_eq!(
            format_utc_words(951_782_400),
            "Tuesday 29 February 2000, 00:00:00 UTC"
        );
        assert_eq!(
            format_utc_words(1_714_588_505),
            "Wednesday 1 May 2024, 18:35:05 UTC"
        );
    }

    #[test]
    fn readme_mentions_the_commands() {
        let r = watch_only_readme(Network::Regtest, Birthday::Seed(1_714_588_505));
        for needle in [
            "bitcoin.regtest=true",
            "remotesigner.enable=true",
            "lncli bakemacaroon --root_key $ROOTKEY --save_to signer.macaroon remotesigner:generate",
            "lncli createwatchonly --mac_root_key $ROOTKEY accounts.json",
            "answer: 1714588505",
            "wallet birthday: 1714588505 (Wednesday 1 May 2024, 18:35:05 UTC)",
            "master_key_birthday_timestamp",
        ] {
            assert!(r.contains(needle), "README lacks {needle:?}:\n{r}");
        }
        let x = watch_only_readme(Network::Mainnet, Birthday::None);
        assert!(x.contains("wallet birthday: none"), "{x}");
        assert!(x.contains("first received"), "{x}");
    }
}
