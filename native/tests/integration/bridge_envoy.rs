//! Static checks of deploy/ (Envoy cannot be installed on the build machines,
//! so it is never run here; see docs/bridge.md for what this does and does
//! not prove).
//!
//! * deploy/envoy/envoy.yaml parses as YAML and uses only Envoy v3 fields,
//!   extension names and `@type` URLs listed below. The field lists were read
//!   from envoyproxy/data-plane-api (commit 84e84367, Jan 2026), file by file
//!   (named next to each message); a field missing from a list fails the test
//!   and must be checked against Envoy's proto before it is added.
//! * The configuration does what the bridge needs: TLS listener, grpc_web +
//!   cors + router (router last), CORS allowing the `macaroon` header and
//!   exposing the grpc-* headers, HTTP/2 upstream to signer-bridge, no
//!   timeout that ends a long stream.
//! * deploy/docker-compose.yml and deploy/lnd.conf agree with it and with
//!   signer-bridge's real command line.

use std::{collections::BTreeMap, path::PathBuf, process::Command};

use serde_yaml::Value;

fn deploy_dir() -> PathBuf {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy"));
    assert!(dir.is_dir(), "deploy directory missing: {}", dir.display());
    dir
}

fn read_yaml(rel: &str) -> Value {
    let path = deploy_dir().join(rel);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_yaml::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", path.display()))
}

/// What a field holds.
#[derive(Clone, Copy, Debug)]
enum K {
    Str,
    Int,
    Bool,
    /// google.protobuf.Duration in its JSON/YAML form ("30s", "0.5s").
    Dur,
    Enum(&'static [&'static str]),
    Msg(&'static str),
    ListStr,
    ListMsg(&'static str),
    /// google.protobuf.Any: a map with "@type" naming a known message.
    Any,
    /// map<string, google.protobuf.Any> keyed by extension name.
    MapAny,
}

/// Message name (as used in this table) → its fields.
fn schema() -> BTreeMap<&'static str, Vec<(&'static str, K)>> {
    use K::*;
    const CODEC: &[&str] = &["AUTO", "HTTP1", "HTTP2", "HTTP3"];
    const DISCOVERY: &[&str] = &["STATIC", "STRICT_DNS", "LOGICAL_DNS", "EDS", "ORIGINAL_DST"];
    const LB: &[&str] = &[
        "ROUND_ROBIN",
        "LEAST_REQUEST",
        "RING_HASH",
        "RANDOM",
        "MAGLEV",
        "CLUSTER_PROVIDED",
        "LOAD_BALANCING_POLICY_CONFIG",
    ];
    const TLS_VERSION: &[&str] = &["TLS_AUTO", "TLSv1_0", "TLSv1_1", "TLSv1_2", "TLSv1_3"];
    const PROTOCOL: &[&str] = &["TCP", "UDP"];
    const UNDERSCORES: &[&str] = &["ALLOW", "REJECT_REQUEST", "DROP_HEADER"];
    const DENOMINATOR: &[&str] = &["HUNDRED", "TEN_THOUSAND", "MILLION"];
    const PRIORITY: &[&str] = &["DEFAULT", "HIGH"];
    BTreeMap::from([
        // envoy/config/bootstrap/v3/bootstrap.proto
        (
            "Bootstrap",
            vec![("static_resources", Msg("StaticResources"))],
        ),
        (
            "StaticResources",
            vec![
                ("listeners", ListMsg("Listener")),
                ("clusters", ListMsg("Cluster")),
            ],
        ),
        // envoy/config/listener/v3/listener.proto, listener_components.proto
        (
            "Listener",
            vec![
                ("name", Str),
                ("address", Msg("Address")),
                ("filter_chains", ListMsg("FilterChain")),
                ("per_connection_buffer_limit_bytes", Int),
            ],
        ),
        (
            "FilterChain",
            vec![
                ("name", Str),
                ("filters", ListMsg("Filter")),
                ("transport_socket", Msg("TransportSocket")),
            ],
        ),
        ("Filter", vec![("name", Str), ("typed_config", Any)]),
        // envoy/config/core/v3/address.proto, base.proto, protocol.proto
        ("Address", vec![("socket_address", Msg("SocketAddress"))]),
        (
            "SocketAddress",
            vec![
                ("address", Str),
                ("port_value", Int),
                ("protocol", Enum(PROTOCOL)),
            ],
        ),
        (
            "TransportSocket",
            vec![("name", Str), ("typed_config", Any)],
        ),
        (
            "DataSource",
            vec![("filename", Str), ("inline_string", Str)],
        ),
        (
            "core.HttpProtocolOptions",
            vec![
                ("idle_timeout", Dur),
                ("max_connection_duration", Dur),
                ("max_headers_count", Int),
                ("max_stream_duration", Dur),
                ("headers_with_underscores_action", Enum(UNDERSCORES)),
                ("max_requests_per_connection", Int),
            ],
        ),
        (
            "Http2ProtocolOptions",
            vec![
                ("max_concurrent_streams", Int),
                ("initial_stream_window_size", Int),
                ("initial_connection_window_size", Int),
                ("connection_keepalive", Msg("KeepaliveSettings")),
            ],
        ),
        (
            "KeepaliveSettings",
            vec![
                ("interval", Dur),
                ("timeout", Dur),
                ("connection_idle_interval", Dur),
            ],
        ),
        // envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto
        (
            "HttpConnectionManager",
            vec![
                ("stat_prefix", Str),
                ("codec_type", Enum(CODEC)),
                ("route_config", Msg("RouteConfiguration")),
                ("http_filters", ListMsg("HttpFilter")),
                (
                    "common_http_protocol_options",
                    Msg("core.HttpProtocolOptions"),
                ),
                ("http2_protocol_options", Msg("Http2ProtocolOptions")),
                ("stream_idle_timeout", Dur),
                ("request_timeout", Dur),
                ("request_headers_timeout", Dur),
                ("max_request_headers_kb", Int),
                ("use_remote_address", Bool),
                ("xff_num_trusted_hops", Int),
                ("upgrade_configs", ListMsg("UpgradeConfig")),
            ],
        ),
        // HttpConnectionManager.UpgradeConfig and RouteAction.UpgradeConfig
        // (the fields used here are the same in both).
        (
            "UpgradeConfig",
            vec![("upgrade_type", Str), ("enabled", Bool)],
        ),
        // envoy/extensions/filters/network/connection_limit/v3/connection_limit.proto
        (
            "ConnectionLimit",
            vec![
                ("stat_prefix", Str),
                ("max_connections", Int),
                ("delay", Dur),
            ],
        ),
        // envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit.proto
        (
            "LocalRateLimit",
            vec![
                ("stat_prefix", Str),
                ("token_bucket", Msg("TokenBucket")),
                ("filter_enabled", Msg("RuntimeFractionalPercent")),
                ("filter_enforced", Msg("RuntimeFractionalPercent")),
                ("stage", Int),
                ("local_rate_limit_per_downstream_connection", Bool),
                ("rate_limited_as_resource_exhausted", Bool),
            ],
        ),
        // envoy/type/v3/token_bucket.proto, percent.proto; envoy/config/core/v3/base.proto
        (
            "TokenBucket",
            vec![
                ("max_tokens", Int),
                ("tokens_per_fill", Int),
                ("fill_interval", Dur),
            ],
        ),
        (
            "RuntimeFractionalPercent",
            vec![
                ("default_value", Msg("FractionalPercent")),
                ("runtime_key", Str),
            ],
        ),
        (
            "FractionalPercent",
            vec![("numerator", Int), ("denominator", Enum(DENOMINATOR))],
        ),
        // envoy/extensions/filters/http/buffer/v3/buffer.proto
        ("Buffer", vec![("max_request_bytes", Int)]),
        (
            "BufferPerRoute",
            vec![("disabled", Bool), ("buffer", Msg("Buffer"))],
        ),
        // envoy/config/cluster/v3/circuit_breaker.proto
        (
            "CircuitBreakers",
            vec![
                ("thresholds", ListMsg("Thresholds")),
                ("per_host_thresholds", ListMsg("Thresholds")),
            ],
        ),
        (
            "Thresholds",
            vec![
                ("priority", Enum(PRIORITY)),
                ("max_connections", Int),
                ("max_pending_requests", Int),
                ("max_requests", Int),
                ("max_retries", Int),
                ("track_remaining", Bool),
            ],
        ),
        ("HttpFilter", vec![("name", Str), ("typed_config", Any)]),
        // envoy/config/route/v3/route.proto, route_components.proto
        (
            "RouteConfiguration",
            vec![("name", Str), ("virtual_hosts", ListMsg("VirtualHost"))],
        ),
        (
            "VirtualHost",
            vec![
                ("name", Str),
                ("domains", ListStr),
                ("routes", ListMsg("Route")),
                ("typed_per_filter_config", MapAny),
            ],
        ),
        (
            "Route",
            vec![
                ("name", Str),
                ("match", Msg("RouteMatch")),
                ("route", Msg("RouteAction")),
                ("typed_per_filter_config", MapAny),
            ],
        ),
        ("RouteMatch", vec![("prefix", Str), ("path", Str)]),
        (
            "RouteAction",
            vec![
                ("cluster", Str),
                ("timeout", Dur),
                ("idle_timeout", Dur),
                ("max_stream_duration", Msg("MaxStreamDuration")),
                ("upgrade_configs", ListMsg("UpgradeConfig")),
            ],
        ),
        (
            "MaxStreamDuration",
            vec![
                ("max_stream_duration", Dur),
                ("grpc_timeout_header_max", Dur),
                ("grpc_timeout_header_offset", Dur),
            ],
        ),
        // envoy/extensions/filters/http/{cors,grpc_web,router}/v3/*.proto
        ("Cors", vec![]),
        (
            "CorsPolicy",
            vec![
                ("allow_origin_string_match", ListMsg("StringMatcher")),
                ("allow_methods", Str),
                ("allow_headers", Str),
                ("expose_headers", Str),
                ("max_age", Str),
                ("allow_credentials", Bool),
            ],
        ),
        ("GrpcWeb", vec![]),
        ("Router", vec![("suppress_envoy_headers", Bool)]),
        // envoy/type/matcher/v3/string.proto
        (
            "StringMatcher",
            vec![
                ("exact", Str),
                ("prefix", Str),
                ("suffix", Str),
                ("ignore_case", Bool),
            ],
        ),
        // envoy/extensions/transport_sockets/tls/v3/tls.proto, common.proto
        (
            "DownstreamTlsContext",
            vec![
                ("common_tls_context", Msg("CommonTlsContext")),
                ("require_client_certificate", Bool),
            ],
        ),
        (
            "CommonTlsContext",
            vec![
                ("tls_params", Msg("TlsParameters")),
                ("tls_certificates", ListMsg("TlsCertificate")),
                ("alpn_protocols", ListStr),
            ],
        ),
        (
            "TlsParameters",
            vec![
                ("tls_minimum_protocol_version", Enum(TLS_VERSION)),
                ("tls_maximum_protocol_version", Enum(TLS_VERSION)),
            ],
        ),
        (
            "TlsCertificate",
            vec![
                ("certificate_chain", Msg("DataSource")),
                ("private_key", Msg("DataSource")),
            ],
        ),
        // envoy/config/cluster/v3/cluster.proto
        (
            "Cluster",
            vec![
                ("name", Str),
                ("type", Enum(DISCOVERY)),
                ("connect_timeout", Dur),
                ("lb_policy", Enum(LB)),
                ("per_connection_buffer_limit_bytes", Int),
                ("circuit_breakers", Msg("CircuitBreakers")),
                ("typed_extension_protocol_options", MapAny),
                ("load_assignment", Msg("ClusterLoadAssignment")),
            ],
        ),
        // envoy/extensions/upstreams/http/v3/http_protocol_options.proto
        (
            "upstreams.HttpProtocolOptions",
            vec![
                (
                    "common_http_protocol_options",
                    Msg("core.HttpProtocolOptions"),
                ),
                ("explicit_http_config", Msg("ExplicitHttpConfig")),
            ],
        ),
        (
            "ExplicitHttpConfig",
            vec![
                ("http_protocol_options", Msg("Http1ProtocolOptions")),
                ("http2_protocol_options", Msg("Http2ProtocolOptions")),
            ],
        ),
        // envoy/config/core/v3/protocol.proto
        (
            "Http1ProtocolOptions",
            vec![("accept_http_10", Bool), ("allow_absolute_url", Bool)],
        ),
        // envoy/config/endpoint/v3/endpoint.proto, endpoint_components.proto
        (
            "ClusterLoadAssignment",
            vec![
                ("cluster_name", Str),
                ("endpoints", ListMsg("LocalityLbEndpoints")),
            ],
        ),
        (
            "LocalityLbEndpoints",
            vec![("lb_endpoints", ListMsg("LbEndpoint"))],
        ),
        ("LbEndpoint", vec![("endpoint", Msg("Endpoint"))]),
        ("Endpoint", vec![("address", Msg("Address"))]),
    ])
}

/// `@type` URL → message name in [`schema`].
const TYPE_URLS: &[(&str, &str)] = &[
    (
        "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "HttpConnectionManager",
    ),
    (
        "type.googleapis.com/envoy.extensions.filters.http.grpc_web.v3.GrpcWeb",
        "GrpcWeb",
    ),
    (
        "type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors",
        "Cors",
    ),
    (
        "type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy",
        "CorsPolicy",
    ),
    (
        "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router",
        "Router",
    ),
    (
        "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
        "DownstreamTlsContext",
    ),
    (
        "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
        "upstreams.HttpProtocolOptions",
    ),
    (
        "type.googleapis.com/envoy.extensions.filters.network.connection_limit.v3.ConnectionLimit",
        "ConnectionLimit",
    ),
    (
        "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
        "LocalRateLimit",
    ),
    (
        "type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer",
        "Buffer",
    ),
    (
        "type.googleapis.com/envoy.extensions.filters.http.buffer.v3.BufferPerRoute",
        "BufferPerRoute",
    ),
];

/// Extension name (the `name` of a filter or transport socket, or a key of
/// a typed map; from the `[#extension: ...]` lines of the protos) → the
/// `@type` messages it accepts.
const EXTENSIONS: &[(&str, &[&str])] = &[
    (
        "envoy.filters.network.http_connection_manager",
        &["HttpConnectionManager"],
    ),
    ("envoy.filters.http.grpc_web", &["GrpcWeb"]),
    // The filter itself takes Cors; per-route/virtual-host config is CorsPolicy.
    ("envoy.filters.http.cors", &["Cors", "CorsPolicy"]),
    ("envoy.filters.http.router", &["Router"]),
    (
        "envoy.filters.network.connection_limit",
        &["ConnectionLimit"],
    ),
    // Filter and per-route configuration are the same message.
    ("envoy.filters.http.local_ratelimit", &["LocalRateLimit"]),
    ("envoy.filters.http.buffer", &["Buffer", "BufferPerRoute"]),
    ("envoy.transport_sockets.tls", &["DownstreamTlsContext"]),
    (
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
        &["upstreams.HttpProtocolOptions"],
    ),
];

struct Checker {
    schema: BTreeMap<&'static str, Vec<(&'static str, K)>>,
    errors: Vec<String>,
}

fn is_duration(s: &str) -> bool {
    let Some(num) = s.strip_suffix('s') else {
        return false;
    };
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.len() <= 9
        && frac.bytes().all(|b| b.is_ascii_digit())
}

impl Checker {
    fn err(&mut self, path: &str, msg: String) {
        self.errors.push(format!("{path}: {msg}"));
    }

    fn any_message(&mut self, path: &str, v: &Value) -> Option<&'static str> {
        let Some(url) = v.get("@type").and_then(Value::as_str) else {
            self.err(path, "Any without a string \"@type\"".into());
            return None;
        };
        match TYPE_URLS.iter().find(|(u, _)| *u == url) {
            Some((_, m)) => Some(m),
            None => {
                self.err(path, format!("unknown @type {url}"));
                None
            }
        }
    }

    fn value(&mut self, path: &str, kind: K, v: &Value) {
        match kind {
            K::Str => {
                if !v.is_string() {
                    self.err(path, format!("expected a string, got {v:?}"));
                }
            }
            K::Int => {
                if !v.is_u64() {
                    self.err(path, format!("expected an unsigned integer, got {v:?}"));
                }
            }
            K::Bool => {
                if !v.is_bool() {
                    self.err(path, format!("expected a bool, got {v:?}"));
                }
            }
            K::Dur => match v.as_str() {
                Some(s) if is_duration(s) => {}
                _ => self.err(path, format!("expected a duration like \"30s\", got {v:?}")),
            },
            K::Enum(values) => match v.as_str() {
                Some(s) if values.contains(&s) => {}
                _ => self.err(path, format!("expected one of {values:?}, got {v:?}")),
            },
            K::Msg(m) => self.message(path, m, v, false),
            K::ListStr => match v.as_sequence() {
                Some(items) => {
                    for (i, item) in items.iter().enumerate() {
                        self.value(&format!("{path}[{i}]"), K::Str, item);
                    }
                }
                None => self.err(path, "expected a list of strings".into()),
            },
            K::ListMsg(m) => match v.as_sequence() {
                Some(items) => {
                    for (i, item) in items.iter().enumerate() {
                        self.message(&format!("{path}[{i}]"), m, item, false);
                    }
                }
                None => self.err(path, format!("expected a list of {m}")),
            },
            K::Any => {
                if let Some(m) = self.any_message(path, v) {
                    self.message(path, m, v, true);
                }
            }
            K::MapAny => match v.as_mapping() {
                Some(map) => {
                    for (k, item) in map {
                        let Some(key) = k.as_str() else {
                            self.err(path, format!("non-string key {k:?}"));
                            continue;
                        };
                        let p = format!("{path}.{key}");
                        let Some(m) = self.any_message(&p, item) else {
                            continue;
                        };
                        self.extension_matches(&p, key, m);
                        self.message(&p, m, item, true);
                    }
                }
                None => self.err(path, "expected a map of typed configs".into()),
            },
        }
    }

    fn extension_matches(&mut self, path: &str, name: &str, message: &str) {
        match EXTENSIONS.iter().find(|(n, _)| *n == name) {
            Some((_, accepted)) if accepted.contains(&message) => {}
            Some((_, accepted)) => self.err(
                path,
                format!("extension {name} takes {accepted:?}, not {message}"),
            ),
            None => self.err(path, format!("unknown extension name {name}")),
        }
    }

    fn message(&mut self, path: &str, name: &str, v: &Value, is_any: bool) {
        let Some(map) = v.as_mapping() else {
            self.err(path, format!("expected a {name} map, got {v:?}"));
            return;
        };
        let fields = self
            .schema
            .get(name)
            .unwrap_or_else(|| panic!("schema has no message {name}"))
            .clone();
        for (k, item) in map {
            let Some(key) = k.as_str() else {
                self.err(path, format!("non-string key {k:?}"));
                continue;
            };
            if is_any && key == "@type" {
                continue;
            }
            match fields.iter().find(|(f, _)| *f == key) {
                Some((_, kind)) => self.value(&format!("{path}.{key}"), *kind, item),
                None => self.err(
                    path,
                    format!("{key:?} is not a checked field of {name} (verify it in Envoy's proto, then add it to the table)"),
                ),
            }
        }
        // A named extension must carry a config of the matching type.
        if let (Some(n), Some(tc)) = (
            map.get("name").and_then(Value::as_str),
            map.get("typed_config"),
        ) {
            if let Some(url) = tc.get("@type").and_then(Value::as_str) {
                if let Some((_, m)) = TYPE_URLS.iter().find(|(u, _)| *u == url) {
                    self.extension_matches(&format!("{path}.name"), n, m);
                }
            }
        }
    }
}

fn at<'a>(v: &'a Value, path: &[&str]) -> &'a Value {
    let mut cur = v;
    for p in path {
        cur = match p.parse::<usize>() {
            Ok(i) => cur.get(i),
            Err(_) => cur.get(*p),
        }
        .unwrap_or_else(|| panic!("missing {p} in {path:?}"));
    }
    cur
}

fn s<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    at(v, path)
        .as_str()
        .unwrap_or_else(|| panic!("{path:?} is not a string"))
}

#[test]
fn envoy_yaml_uses_only_known_envoy_v3_fields() {
    let cfg = read_yaml("envoy/envoy.yaml");
    let mut c = Checker {
        schema: schema(),
        errors: Vec::new(),
    };
    c.message("envoy.yaml", "Bootstrap", &cfg, false);
    assert!(
        c.errors.is_empty(),
        "envoy.yaml problems:\n{}",
        c.errors.join("\n")
    );
}

#[test]
fn the_checker_catches_mistakes() {
    // The schema check must reject a misspelt field, an unknown @type and a
    // name/type mismatch, or the test above proves nothing.
    let cases = [
        (
            "static_resources: {listeners: [{name: x, adress: {}}]}",
            "\"adress\" is not a checked field of Listener",
        ),
        (
            "static_resources: {listeners: [{filter_chains: [{filters: [{name: envoy.filters.network.http_connection_manager, typed_config: {\"@type\": type.googleapis.com/envoy.config.filter.network.http_connection_manager.v2.HttpConnectionManager}}]}]}]}",
            "unknown @type",
        ),
        (
            "static_resources: {listeners: [{filter_chains: [{filters: [{name: envoy.filters.http.router, typed_config: {\"@type\": type.googleapis.com/envoy.extensions.filters.http.grpc_web.v3.GrpcWeb}}]}]}]}",
            "extension envoy.filters.http.router takes",
        ),
        (
            "static_resources: {clusters: [{name: a, connect_timeout: 5}]}",
            "expected a duration",
        ),
        (
            "static_resources: {clusters: [{name: a, lb_policy: ROUND_ROBBIN}]}",
            "expected one of",
        ),
    ];
    for (yaml, expected) in cases {
        let v: Value = serde_yaml::from_str(yaml).expect("test YAML");
        let mut c = Checker {
            schema: schema(),
            errors: Vec::new(),
        };
        c.message("t", "Bootstrap", &v, false);
        assert!(
            c.errors.iter().any(|e| e.contains(expected)),
            "{yaml}: expected an error containing {expected:?}, got {:?}",
            c.errors
        );
    }
}

#[test]
fn envoy_yaml_is_set_up_for_the_bridge() {
    let cfg = read_yaml("envoy/envoy.yaml");
    let listener = at(&cfg, &["static_resources", "listeners", "0"]);
    let chain = at(listener, &["filter_chains", "0"]);
    assert_eq!(
        s(chain, &["transport_socket", "name"]),
        "envoy.transport_sockets.tls",
        "the listener terminates TLS"
    );
    let alpn = at(
        chain,
        &[
            "transport_socket",
            "typed_config",
            "common_tls_context",
            "alpn_protocols",
        ],
    );
    assert!(
        alpn.as_sequence()
            .is_some_and(|a| a.iter().any(|p| p.as_str() == Some("h2"))),
        "ALPN offers h2"
    );

    let network: Vec<&str> = at(chain, &["filters"])
        .as_sequence()
        .expect("network filters")
        .iter()
        .map(|f| s(f, &["name"]))
        .collect();
    assert_eq!(
        network,
        [
            "envoy.filters.network.connection_limit",
            "envoy.filters.network.http_connection_manager"
        ],
        "connections are limited before HTTP is parsed"
    );
    let limit = at(chain, &["filters", "0", "typed_config"]);
    let max_conns = at(limit, &["max_connections"]).as_u64().expect("number");
    assert!((1..=100_000).contains(&max_conns), "{max_conns}");
    assert!(at(listener, &["per_connection_buffer_limit_bytes"]).is_number());

    let hcm = at(chain, &["filters", "1", "typed_config"]);
    // Bridge exhaustion (docs/bridge.md): the disabled timeouts belong to the Attach route
    // only; everything else is bounded.
    for field in [
        "stream_idle_timeout",
        "request_timeout",
        "request_headers_timeout",
    ] {
        let v = s(hcm, &[field]);
        assert!(
            v != "0s" && is_duration(v),
            "HCM {field} must be a limit, is {v:?}"
        );
    }
    assert!(at(hcm, &["max_request_headers_kb"]).is_number());
    let streams = at(hcm, &["http2_protocol_options", "max_concurrent_streams"])
        .as_u64()
        .expect("max_concurrent_streams");
    assert!((1..=1000).contains(&streams), "{streams}");
    // The bridge's per-source Attach limit needs the caller's address.
    assert_eq!(at(hcm, &["use_remote_address"]).as_bool(), Some(true));
    assert_eq!(at(hcm, &["xff_num_trusted_hops"]).as_u64(), Some(0));
    let filters: Vec<&str> = at(hcm, &["http_filters"])
        .as_sequence()
        .expect("http_filters list")
        .iter()
        .map(|f| s(f, &["name"]))
        .collect();
    assert_eq!(
        filters,
        [
            "envoy.filters.http.grpc_web",
            "envoy.filters.http.cors",
            "envoy.filters.http.local_ratelimit",
            "envoy.filters.http.buffer",
            "envoy.filters.http.router"
        ]
    );
    let buffer = at(
        hcm,
        &["http_filters", "3", "typed_config", "max_request_bytes"],
    )
    .as_u64()
    .expect("buffer limit");
    let bridge_max = lnd_web_signer_native::bridge::DEFAULT_MAX_REPLY_BYTES as u64;
    assert!(
        (bridge_max..=bridge_max + 128 * 1024).contains(&buffer),
        "Envoy's body limit {buffer} should be the bridge's reply limit plus envelope room"
    );

    let vhost = at(hcm, &["route_config", "virtual_hosts", "0"]);
    let cors = at(
        vhost,
        &["typed_per_filter_config", "envoy.filters.http.cors"],
    );
    let allow = s(cors, &["allow_headers"]).to_ascii_lowercase();
    for h in lnd_web_signer_native::bridge::CORS_ALLOW_HEADERS {
        assert!(allow.contains(h), "CORS allow_headers lacks {h}");
    }
    let expose = s(cors, &["expose_headers"]).to_ascii_lowercase();
    for h in lnd_web_signer_native::bridge::CORS_EXPOSE_HEADERS {
        assert!(expose.contains(h), "CORS expose_headers lacks {h}");
    }
    for m in at(cors, &["allow_origin_string_match"])
        .as_sequence()
        .expect("origin list")
    {
        let exact = s(m, &["exact"]);
        lnd_web_signer_native::bridge::check_origin(exact)
            .unwrap_or_else(|e| panic!("CORS origin {exact:?}: {e}"));
    }

    let route = at(vhost, &["routes", "0"]);
    assert_eq!(
        s(route, &["match", "path"]),
        "/signerbridge.SignerBridge/Attach",
        "the first route is Attach's"
    );
    assert_eq!(
        s(route, &["route", "timeout"]),
        "0s",
        "Attach: route timeout disabled"
    );
    assert_eq!(
        s(route, &["route", "idle_timeout"]),
        "0s",
        "Attach: idle timeout disabled"
    );
    // The WebSocket channel: its own path, before the prefix route, the
    // upgrade enabled on it alone, to an HTTP/1.1 cluster of the same
    // bridge, nothing buffered.
    assert_eq!(
        at(hcm, &["upgrade_configs", "0", "enabled"]).as_bool(),
        Some(false),
        "upgrades off by default"
    );
    let ws = at(vhost, &["routes", "1"]);
    assert_eq!(
        s(ws, &["match", "path"]),
        lnd_web_signer::proto::signerbridge::WEBSOCKET_PATH
    );
    assert_eq!(
        s(ws, &["route", "upgrade_configs", "0", "upgrade_type"]),
        "websocket"
    );
    assert_eq!(
        at(ws, &["route", "upgrade_configs", "0", "enabled"]).as_bool(),
        Some(true)
    );
    let idle = s(ws, &["route", "idle_timeout"]);
    assert!(
        idle != "0s" && is_duration(idle),
        "WebSocket idle timeout {idle:?}"
    );
    assert_eq!(
        at(
            ws,
            &[
                "typed_per_filter_config",
                "envoy.filters.http.buffer",
                "disabled"
            ]
        )
        .as_bool(),
        Some(true),
        "an upgraded request is never buffered"
    );
    let ws_cluster_name = s(ws, &["route", "cluster"]);
    let rest = at(vhost, &["routes", "2"]);
    assert_eq!(s(rest, &["match", "prefix"]), "/signerbridge.SignerBridge/");
    let t = s(rest, &["route", "timeout"]);
    assert!(
        t != "0s" && is_duration(t),
        "Reply routes keep a timeout: {t:?}"
    );
    assert!(rest["route"].get("idle_timeout").is_none());
    assert_eq!(
        s(rest, &["route", "cluster"]),
        s(route, &["route", "cluster"])
    );
    for r in [route, ws, rest] {
        let rl = at(
            r,
            &[
                "typed_per_filter_config",
                "envoy.filters.http.local_ratelimit",
            ],
        );
        assert!(at(rl, &["token_bucket", "max_tokens"]).is_number());
        for f in ["filter_enabled", "filter_enforced"] {
            assert_eq!(
                at(rl, &[f, "default_value", "numerator"]).as_u64(),
                Some(100)
            );
            assert_eq!(s(rl, &[f, "default_value", "denominator"]), "HUNDRED");
        }
        assert_eq!(
            at(rl, &["rate_limited_as_resource_exhausted"]).as_bool(),
            Some(true)
        );
    }
    assert!(
        at(
            route,
            &[
                "typed_per_filter_config",
                "envoy.filters.http.buffer",
                "buffer",
                "max_request_bytes"
            ]
        )
        .as_u64()
        .expect("Attach body limit")
            <= 64 * 1024
    );
    let cluster_name = s(route, &["route", "cluster"]);

    let clusters = at(&cfg, &["static_resources", "clusters"])
        .as_sequence()
        .expect("clusters");
    let cluster_named = |name: &str| {
        clusters
            .iter()
            .find(|c| c.get("name").and_then(Value::as_str) == Some(name))
            .unwrap_or_else(|| panic!("a route names cluster {name}, which is not defined"))
    };
    let cluster = cluster_named(cluster_name);
    at(
        cluster,
        &[
            "typed_extension_protocol_options",
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
            "explicit_http_config",
            "http2_protocol_options",
        ],
    );
    assert_eq!(
        s(cluster, &["load_assignment", "cluster_name"]),
        cluster_name
    );
    let ws_cluster = cluster_named(ws_cluster_name);
    at(
        ws_cluster,
        &[
            "typed_extension_protocol_options",
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
            "explicit_http_config",
            "http_protocol_options",
        ],
    );
    assert_eq!(
        at(ws_cluster, &["load_assignment", "endpoints"]),
        at(cluster, &["load_assignment", "endpoints"]),
        "the WebSocket cluster is the same bridge"
    );
    for c in [cluster, ws_cluster] {
        let breakers = at(c, &["circuit_breakers", "thresholds", "0"]);
        for f in ["max_connections", "max_pending_requests", "max_requests"] {
            assert!(at(breakers, &[f]).is_number(), "circuit breaker {f}");
        }
    }
}

fn compose_bridge_args(compose: &Value) -> Vec<String> {
    at(compose, &["services", "signer-bridge", "command"])
        .as_sequence()
        .expect("signer-bridge command list")
        .iter()
        .map(|a| a.as_str().expect("string argument").to_string())
        .collect()
}

fn flag<'a>(args: &'a [String], name: &str) -> &'a str {
    args.iter()
        .find_map(|a| a.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("compose command lacks {name}=..."))
}

#[test]
fn compose_lnd_conf_and_envoy_agree() {
    let compose = read_yaml("docker-compose.yml");
    let envoy = read_yaml("envoy/envoy.yaml");
    let services = at(&compose, &["services"]);
    for name in ["lnd", "signer-bridge", "envoy"] {
        at(services, &[name]);
    }
    let args = compose_bridge_args(&compose);
    assert!(
        !args.iter().any(|a| a == "--grpc-web"),
        "production uses Envoy for grpc-web, not --grpc-web"
    );

    // Behind Envoy (use_remote_address: true) the bridge counts Attach
    // attempts per the address Envoy appended to x-forwarded-for.
    assert_eq!(flag(&args, "--client-address-header"), "x-forwarded-for");
    // The WebSocket channel behind Envoy checks the page's origin itself,
    // the same one Envoy's CORS policy allows.
    assert!(args.iter().any(|a| a == "--websocket"));
    let cors_origin = s(
        &envoy,
        &[
            "static_resources",
            "listeners",
            "0",
            "filter_chains",
            "0",
            "filters",
            "1",
            "typed_config",
            "route_config",
            "virtual_hosts",
            "0",
            "typed_per_filter_config",
            "envoy.filters.http.cors",
            "allow_origin_string_match",
            "0",
            "exact",
        ],
    );
    assert_eq!(flag(&args, "--allow-origin"), cors_origin);
    assert!(
        !args.iter().any(|a| a == "--allow-no-macaroon"),
        "production requires a macaroon on Attach"
    );

    // Envoy → bridge: the cluster endpoint is the bridge's listen port.
    let listen = flag(&args, "--listen");
    let bridge_port: u64 = listen
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .expect("listen port");
    let endpoint = at(
        &envoy,
        &[
            "static_resources",
            "clusters",
            "0",
            "load_assignment",
            "endpoints",
            "0",
            "lb_endpoints",
            "0",
            "endpoint",
            "address",
            "socket_address",
        ],
    );
    assert_eq!(s(endpoint, &["address"]), "signer-bridge");
    assert_eq!(at(endpoint, &["port_value"]).as_u64(), Some(bridge_port));

    // Published port → Envoy's listener.
    let listener_port = at(
        &envoy,
        &[
            "static_resources",
            "listeners",
            "0",
            "address",
            "socket_address",
            "port_value",
        ],
    )
    .as_u64()
    .expect("listener port");
    let ports = at(services, &["envoy", "ports"])
        .as_sequence()
        .expect("envoy ports");
    assert!(
        ports.iter().any(|p| p
            .as_str()
            .and_then(|p| p.rsplit_once(':'))
            .and_then(|(_, c)| c.parse::<u64>().ok())
            == Some(listener_port)),
        "envoy publishes its listener port {listener_port}"
    );
    assert!(
        services["lnd"].get("ports").is_none(),
        "lnd's signer listener must not be published"
    );
    assert!(
        services["signer-bridge"].get("ports").is_none(),
        "signer-bridge is reached through Envoy only"
    );

    // Bridge → lnd: the host is the lnd service, the port lnd.conf's listener.
    let rpchost = flag(&args, "--lnd-rpchost");
    let (host, port) = rpchost.rsplit_once(':').expect("HOST:PORT");
    assert_eq!(host, "lnd");
    let conf = lnd_conf();
    let rpclisten = conf
        .get("remotesigner.experimentalrpclisten")
        .expect("remotesigner.experimentalrpclisten");
    assert!(
        rpclisten.ends_with(&format!(":{port}")),
        "lnd listens on {rpclisten}, the bridge dials port {port}"
    );
    assert_eq!(port, "10019", "lnd's default remote-signer port");

    // Files the services mount exist next to the compose file.
    let envoy_volumes = at(services, &["envoy", "volumes"])
        .as_sequence()
        .expect("envoy volumes");
    assert!(envoy_volumes.iter().any(|v| v
        .as_str()
        .is_some_and(|v| v.starts_with("./envoy/envoy.yaml:"))));
    assert!(deploy_dir().join("envoy/envoy.yaml").is_file());
    assert!(deploy_dir().join("signer-bridge.Dockerfile").is_file());
}

/// key → value of deploy/lnd.conf (sections ignored).
fn lnd_conf() -> BTreeMap<String, String> {
    let path = deploy_dir().join("lnd.conf");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty()
            || line.starts_with(';')
            || line.starts_with('#')
            || line.starts_with('[')
        {
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("lnd.conf line without '=': {line}"));
        assert!(
            out.insert(k.trim().to_string(), v.trim().to_string())
                .is_none(),
            "lnd.conf sets {k} twice"
        );
    }
    out
}

#[test]
fn lnd_conf_has_the_watch_only_options() {
    let conf = lnd_conf();
    // spec/protocol.md §3.7.
    let known = [
        "remotesigner.enable",
        "remotesigner.experimentalallowinboundconnection",
        "remotesigner.experimentalrpclisten",
        "remotesigner.experimentalrequesttimeout",
        "remotesigner.experimentalstartuptimeout",
        "healthcheck.remotesigner.interval",
        "healthcheck.remotesigner.timeout",
        "healthcheck.remotesigner.attempts",
        "healthcheck.remotesigner.backoff",
        "tlsextradomain",
    ];
    for k in conf.keys() {
        assert!(
            known.contains(&k.as_str()),
            "unexpected lnd.conf option {k}"
        );
    }
    assert_eq!(
        conf.get("remotesigner.enable").map(String::as_str),
        Some("true")
    );
    assert_eq!(
        conf.get("remotesigner.experimentalallowinboundconnection")
            .map(String::as_str),
        Some("true")
    );
    let timeout = conf
        .get("remotesigner.experimentalrequesttimeout")
        .expect("request timeout");
    let secs: u64 = timeout
        .strip_suffix('s')
        .and_then(|n| n.parse().ok())
        .expect("timeout in whole seconds");
    assert!(secs >= 1, "lnd requires at least 1s");
    assert!(
        !conf.contains_key("watchonlynode.experimentalenable"),
        "a node cannot be watch-only and signer at once"
    );
}

#[test]
fn compose_command_is_accepted_by_signer_bridge() {
    // Run the real binary with the compose arguments: clap must accept them,
    // so the run fails only on the certificate path that exists in the
    // container, not here.
    let compose = read_yaml("docker-compose.yml");
    let args = compose_bridge_args(&compose);
    let cert = flag(&args, "--lnd-tlscertpath").to_string();
    assert!(
        !std::path::Path::new(&cert).exists(),
        "{cert} exists on this machine; the check below needs it absent"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_signer-bridge"))
        .args(&args)
        .env("RUST_LOG", "off")
        .output()
        .expect("run signer-bridge");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("cannot read --lnd-tlscertpath {cert}")),
        "unexpected failure: {stderr}"
    );
}
