//! Credentials bundles and macaroon checks for the page and the extension:
//! the watch-only bundle (accounts.json + README.txt for the lnd machine),
//! the import of a signer bundle (lnd's `tls.cert`, the signer macaroon,
//! where to reach the node) sealed into the vault, and what a macaroon
//! grants. The macaroon's bytes never reach JavaScript from here: a bundle's
//! macaroon goes straight into the vault, and only its permissions and
//! caveats are returned.

use js_sys::Uint8Array;
use serde::Serialize;
use wasm_bindgen::prelude::*;

use super::api::UnlockedSigner;
use super::js_value::to_js;
use lnd_web_signer::bundle::{self, watch_only_readme, Birthday, Endpoint, WatchOnlyBundle};
use lnd_web_signer::keys::accounts::try_accounts_json;
use lnd_web_signer::macaroon::{self, MacaroonInfo, BAKE_COMMAND};
use lnd_web_signer::secret::{SecretBytes, SecretString};

#[wasm_bindgen(typescript_custom_section)]
const TS_CREDENTIALS: &'static str = r#"
/** What a macaroon grants (never its bytes). */
export interface MacaroonInfo {
  /** `entity:action` of every op, e.g. "remotesigner:generate". */
  permissions: string[];
  /** Caveat conditions, e.g. "time-before 2027-01-01T00:00:00Z". */
  caveats: string[];
  /** True when it grants exactly remotesigner:generate. */
  leastPrivilege: boolean;
  /** Why it is not least-privilege and how to bake the right one, or null. */
  warning: string | null;
  /** The lncli command that bakes a least-privilege macaroon. */
  bakeCommand: string;
}

/** Where a signer bundle says the node is: exactly one of the two. */
export interface BundleEndpoint {
  /** HOST:PORT of lnd's remote-signer listener (for the native signer). */
  rpchost?: string;
  /** URL of signer-bridge's grpc-web endpoint (for the tab and the worker). */
  bridgeUrl?: string;
}

/** Result of UnlockedSigner.importSignerBundle. */
export interface ImportedBundle {
  /** The vault with the bundle's macaroon sealed in (store it). */
  vault: Uint8Array;
  endpoint: BundleEndpoint;
  macaroon: MacaroonInfo;
  /** lnd's tls.cert (PEM; public): signer-bridge pins it, the tab does not use it. */
  tlsCertPem: string;
}

/** Result of UnlockedSigner.watchOnlyBundle. */
export interface WatchOnlyBundleFiles {
  /** credentials-bundle.tar.gz */
  tarGz: Uint8Array;
  /** credentials-bundle.tar.gz.b64: the same file in standard base64. */
  b64: string;
  /** The README.txt inside (lnd.conf options, lncli commands, birthday). */
  readme: string;
}

/** The wallet birthday for `lncli createwatchonly`. */
export interface WalletBirthday {
  /** Unix seconds to type at the prompt, or null (an extended key has none). */
  unix: number | null;
  /** Two lines for people: the birthday with its date, and what to do. */
  lines: [string, string];
}
"#;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MacaroonInfoJs {
    permissions: Vec<String>,
    caveats: Vec<String>,
    least_privilege: bool,
    warning: Option<String>,
    bake_command: &'static str,
}

impl From<&MacaroonInfo> for MacaroonInfoJs {
    fn from(m: &MacaroonInfo) -> Self {
        MacaroonInfoJs {
            permissions: m.permissions.clone(),
            caveats: m.caveats.clone(),
            least_privilege: m.least_privilege(),
            warning: m.warning(),
            bake_command: BAKE_COMMAND,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EndpointJs {
    #[serde(skip_serializing_if = "Option::is_none")]
    rpchost: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bridge_url: Option<String>,
}

impl From<&Endpoint> for EndpointJs {
    fn from(e: &Endpoint) -> Self {
        match e {
            Endpoint::RpcHost(h) => EndpointJs {
                rpchost: Some(h.clone()),
                bridge_url: None,
            },
            Endpoint::BridgeUrl(u) => EndpointJs {
                rpchost: None,
                bridge_url: Some(u.clone()),
            },
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BirthdayJs {
    unix: Option<u64>,
    lines: [String; 2],
}

/// What a macaroon grants: lnd's binary macaroon, or its hex text. The bytes
/// are wiped here. A value that is not a macaroon is an error.
#[wasm_bindgen(js_name = inspectMacaroon, unchecked_return_type = "MacaroonInfo")]
pub fn inspect_macaroon(bytes: Vec<u8>) -> Result<JsValue, JsError> {
    let raw = SecretBytes::new(bytes);
    let bin = macaroon::from_file_bytes(raw.expose()).map_err(|e| JsError::new(&e.to_string()))?;
    let info = macaroon::decode(&bin).map_err(|e| JsError::new(&e.to_string()))?;
    to_js(&MacaroonInfoJs::from(&info))
}

/// For the worker's provisioning tool: opens `blob` with `passphrase`,
/// replaces its macaroon by the one of a signer bundle (`.tar.gz` bytes or
/// its base64 text) and seals it again; returns `{ vault, endpoint,
/// macaroon, tlsCertPem }` as `UnlockedSigner.importSignerBundle` does. A
/// malformed bundle is refused before the vault is opened. Runs Argon2id
/// twice. The input bytes are wiped.
#[wasm_bindgen(js_name = vaultWithBundle, unchecked_return_type = "ImportedBundle")]
pub fn vault_with_bundle(
    blob: &[u8],
    passphrase: String,
    bundle: Vec<u8>,
) -> Result<JsValue, JsError> {
    let passphrase = SecretString::new(passphrase);
    let input = SecretBytes::new(bundle);
    let b = read_signer_bundle(&input)?;
    let (sealed, _) = super::page::reseal_with_macaroon(
        blob,
        &passphrase,
        Some(SecretBytes::new(b.macaroon().expose().to_vec())),
    )?;
    imported(&b, Uint8Array::from(sealed.as_slice()).into())
}

/// A signer bundle (`.tar.gz` bytes or its base64 text), or the core's
/// reason it is not one.
fn read_signer_bundle(input: &SecretBytes) -> Result<bundle::SignerBundle, JsError> {
    bundle::read_signer_bundle(input.expose())
        .map_err(|e| JsError::new(&format!("cannot import the bundle: {e}")))
}

/// The JS object of an imported signer bundle, with the new vault.
fn imported(b: &bundle::SignerBundle, vault: JsValue) -> Result<JsValue, JsError> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Imported<'a> {
        endpoint: EndpointJs,
        macaroon: MacaroonInfoJs,
        tls_cert_pem: &'a str,
    }
    let obj = to_js(&Imported {
        endpoint: EndpointJs::from(b.endpoint()),
        macaroon: MacaroonInfoJs::from(b.macaroon_info()),
        tls_cert_pem: b.tls_cert_pem(),
    })?;
    js_sys::Reflect::set(&obj, &JsValue::from_str("vault"), &vault)
        .map_err(|_| JsError::new("cannot build the import result"))?;
    Ok(obj)
}

#[wasm_bindgen]
impl UnlockedSigner {
    /// What the macaroon this signer holds (from the vault) grants, or null
    /// when it holds none.
    #[wasm_bindgen(js_name = macaroonInfo, unchecked_return_type = "MacaroonInfo | null")]
    pub fn macaroon_info(&self) -> Result<JsValue, JsError> {
        let guard = self.macaroon.borrow();
        match guard.as_ref() {
            None => Ok(JsValue::NULL),
            Some(m) => {
                let info =
                    macaroon::decode(m.expose()).map_err(|e| JsError::new(&e.to_string()))?;
                to_js(&MacaroonInfoJs::from(&info))
            }
        }
    }

    /// The wallet birthday to give `lncli createwatchonly`.
    #[wasm_bindgen(js_name = walletBirthday, unchecked_return_type = "WalletBirthday")]
    pub fn wallet_birthday(&self) -> Result<JsValue, JsError> {
        let b: Birthday = self.wallet_birthday;
        to_js(&BirthdayJs {
            unix: b.unix(),
            lines: b.lines(),
        })
    }

    /// The watch-only bundle of this key for the lnd machine: a folder
    /// `credentials-bundle/` with `accounts.json` and `README.txt`, as a
    /// `.tar.gz` and as its base64 text (what `lnd-web-signer bundle
    /// watch-only` makes).
    #[wasm_bindgen(js_name = watchOnlyBundle, unchecked_return_type = "WatchOnlyBundleFiles")]
    pub fn watch_only_bundle(&self) -> Result<JsValue, JsError> {
        let guard = self.signer.borrow();
        let signer = guard.as_ref().ok_or_else(Self::locked_error)?;
        let accounts =
            try_accounts_json(signer.root()).map_err(|e| JsError::new(&e.to_string()))?;
        let readme = watch_only_readme(self.network, self.wallet_birthday);
        let b = WatchOnlyBundle::new(accounts, readme)
            .map_err(|e| JsError::new(&format!("cannot build the bundle: {e}")))?;
        let mtime = (js_sys::Date::now() / 1000.0) as u64;
        let tar_gz = b.to_tar_gz(mtime);
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Files<'a> {
            b64: &'a str,
            readme: &'a str,
        }
        let b64 = bundle::to_base64(&tar_gz);
        let obj = to_js(&Files {
            b64: &b64,
            readme: b.readme(),
        })?;
        js_sys::Reflect::set(
            &obj,
            &JsValue::from_str("tarGz"),
            &Uint8Array::from(tar_gz.as_slice()),
        )
        .map_err(|_| JsError::new("cannot build the bundle object"))?;
        Ok(obj)
    }

    /// Imports a signer bundle (`credentials-bundle.tar.gz` bytes or its
    /// base64 text, as `lnd-web-signer bundle signer` makes it): seals its
    /// macaroon into `blob`, the vault this signer was opened from (vault
    /// passphrase `passphrase`), holds it for the next `connect()`, and
    /// returns the new vault with what the bundle says. A malformed bundle
    /// changes nothing. Runs Argon2id twice. The input bytes are wiped.
    #[wasm_bindgen(js_name = importSignerBundle, unchecked_return_type = "ImportedBundle")]
    pub fn import_signer_bundle(
        &self,
        blob: &[u8],
        passphrase: String,
        bundle: Vec<u8>,
    ) -> Result<JsValue, JsError> {
        let passphrase = SecretString::new(passphrase);
        let input = SecretBytes::new(bundle);
        if self.signer.borrow().is_none() {
            return Err(Self::locked_error());
        }
        let b = read_signer_bundle(&input)?;
        let sealed = self.seal_macaroon(
            blob,
            passphrase.expose().to_owned(),
            Some(b.macaroon().expose().to_vec()),
        )?;
        imported(&b, sealed.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn get(o: &JsValue, k: &str) -> JsValue {
        js_sys::Reflect::get(o, &JsValue::from_str(k)).expect("get")
    }

    /// lnd's macaroons (the fixtures `lncli printmacaroon` decoded): the
    /// signer one is least-privilege, the admin-like one warns; hex text
    /// works like the binary file; anything else is refused.
    #[wasm_bindgen_test]
    fn macaroons_are_inspected_without_their_bytes() {
        let signer = include_bytes!("../../tests/fixtures/macaroons/signer.macaroon");
        let info = inspect_macaroon(signer.to_vec()).expect("signer macaroon");
        assert_eq!(get(&info, "leastPrivilege").as_bool(), Some(true));
        assert!(get(&info, "warning").is_null());
        let hex_text = hex::encode(signer).into_bytes();
        let again = inspect_macaroon(hex_text).expect("hex text");
        assert_eq!(get(&again, "leastPrivilege").as_bool(), Some(true));
        let admin = include_bytes!("../../tests/fixtures/macaroons/admin-like.macaroon");
        let info = inspect_macaroon(admin.to_vec()).expect("admin-like macaroon");
        assert_eq!(get(&info, "leastPrivilege").as_bool(), Some(false));
        let warning = get(&info, "warning").as_string().expect("a warning");
        assert!(warning.contains("lncli bakemacaroon"), "{warning}");
        let perms = js_sys::Array::from(&get(&info, "permissions"));
        assert!(perms.includes(&JsValue::from_str("onchain:write"), 0));
        assert!(inspect_macaroon(b"not a macaroon".to_vec()).is_err());
    }
}
