// Test constants shared by every JS test and script, and (through
// `node tests/stack/cli.mjs const NAME`) by scripts/lib.sh. All public:
// none of them is, or may ever become, a real wallet's secret.

/** lnd's docs/remote-signing.md example root key (regtest/testnet tprv): the demo and page/worker test key. */
export const DEMO_TPRV =
  "tprv8ZgxMBicQKsPe6jS4vDm2n7s42Q6MpvghUQqMmSKG7bTZvGKtjrcU3PGzMNG37yzxywrcdvgkwrr8eYXJmbwdvUNVT4Ucv7ris4jvA7BUmg";

/** The demo vault's passphrase (scripts/demo.sh prints it). */
export const DEMO_PASSPHRASE = "demo passphrase, not a secret";

/** The vault passphrase the page tests seal with. */
export const TEST_VAULT_PASSPHRASE = "correct horse battery staple 42";

/** lnd's signer test seed (entropy of the e2e suites, docs/testing.md). */
export const E2E_SEED_ENTROPY = "4a7611b6979ba7c4bc5c5cd2239b2973";

/** E2E_SEED_ENTROPY as a BIP-32 regtest tprv (its BIP-32 master key). */
export const E2E_TPRV =
  "tprv8ZgxMBicQKsPd8PkPo4aGuYMuxJqYrr5DPF7kJ59RCkoBx1tD7wjDE1eEpFR3XjnRWWqvwNXSEXjsLsc3HV6bJXbd2brsbURmuSNEvLwSEn";

/** Every piece of the stack listens here, and only here. */
export const LOOPBACK = "127.0.0.1";
