#!/bin/sh
# The C compiler of wasm32 builds (CC_wasm32_unknown_unknown in
# .cargo/config.toml): clang, with one change to libsecp256k1's build.
#
# secp256k1-sys's build script fixes the sizes of libsecp256k1's
# precomputed tables: ECMULT_WINDOW_SIZE=15 (1 MiB of multiples of the
# generator, used when a point is tweaked or a signature verified) and
# ECMULT_GEN_PREC_BITS=4 (64 KiB, used by every signing and key derivation),
# or 4 and 2 with its `lowmemory` feature; nothing in between. In wasm the
# 1 MiB is two thirds of the gzipped module, the 64 KiB is what signing speed
# rests on. -DLWS_ECMULT_WINDOW_SIZE=N and -DLWS_ECMULT_GEN_PREC_BITS=N in
# CFLAGS_wasm32_unknown_unknown replace the build script's values (the
# options upstream's configure offers as --with-ecmult-window and
# --with-ecmult-gen-precision); without them nothing changes. They are
# CFLAGS so that cargo rebuilds the library when they change.
window='' gen=''
for a do
  case $a in
    -DLWS_ECMULT_WINDOW_SIZE=*) window=${a#*=} ;;
    -DLWS_ECMULT_GEN_PREC_BITS=*) gen=${a#*=} ;;
  esac
done
for a do
  shift
  case $a in
    -DECMULT_WINDOW_SIZE=*) [ -z "$window" ] || a=-DECMULT_WINDOW_SIZE=$window ;;
    -DECMULT_GEN_PREC_BITS=*) [ -z "$gen" ] || a=-DECMULT_GEN_PREC_BITS=$gen ;;
  esac
  set -- "$@" "$a"
done
exec "${LWS_WASM_CLANG:-clang}" "$@"
