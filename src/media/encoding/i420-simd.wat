;; I420 → RGB conversions in WebAssembly SIMD, at full size and box-shrunk to half and quarter: the
;; same arithmetic as the lookup tables of i420.ts (each entry is (k · (x − offset) + 2048) >> 12,
;; computed here in i32 lanes), so the bytes out are the JavaScript's. Owns only the pixel loops; the
;; caller (i420-simd.ts) copies the planes in and the pixels out, and decides when a picture fits
;; (width a multiple of 16; height even for half, a multiple of 4 for quarter). Spec:
;; h264-webrtc.md §3.1 (I420 → RGB before the encoder). Compiled by `npm run wasm`
;; (scripts/build-wasm.ts) into i420-simd-binary.ts; a test checks that file is current.
(module
  (memory (export "memory") 1)

  ;; (k · x + 2048) >> 12 in four lanes: one table entry per lane.
  (func $fixed (param $x v128) (param $k v128) (result v128)
    (i32x4.shr_s
      (i32x4.add (i32x4.mul (local.get $x) (local.get $k)) (v128.const i32x4 2048 2048 2048 2048))
      (i32.const 12)))

  ;; Luma term of a rounded average a (lanes hold a − 16): the luma table with its rounding half.
  (func $luma (param $a v128) (param $ky v128) (result v128)
    (i32x4.add (call $fixed (local.get $a) (local.get $ky)) (v128.const i32x4 512 512 512 512)))

  ;; (ys + t) >> 10 for eight pixels held in two i32x4, narrowed to i16 (no value is near the limits).
  (func $channel (param $ysLo v128) (param $ysHi v128) (param $tLo v128) (param $tHi v128) (result v128)
    (i16x8.narrow_i32x4_s
      (i32x4.shr_s (i32x4.add (local.get $ysLo) (local.get $tLo)) (i32.const 10))
      (i32x4.shr_s (i32x4.add (local.get $ysHi) (local.get $tHi)) (i32.const 10))))

  ;; Half size: each output pixel is its 2×2 luma block's rounded average with its own chroma
  ;; sample; eight pixels (16 luma columns) per step. RGB at $out, (w/2)·(h/2)·3 bytes.
  (func (export "half") (param $w i32) (param $h i32) (param $in i32) (param $out i32)
        (param $kyS i32) (param $krvS i32) (param $kguS i32) (param $kgvS i32) (param $kbuS i32)
    (local $ky v128) (local $krv v128) (local $kgu v128) (local $kgv v128) (local $kbu v128)
    (local $row i32) (local $halfW i32) (local $halfH i32) (local $top i32) (local $bot i32)
    (local $u i32) (local $v i32) (local $o i32) (local $end i32)
    (local $a v128) (local $cu v128) (local $cv v128) (local $ysLo v128) (local $ysHi v128)
    (local $uLo v128) (local $uHi v128) (local $vLo v128) (local $vHi v128)
    (local $r v128) (local $g v128) (local $b v128) (local $rg v128) (local $bb v128)
    (local.set $ky (i32x4.splat (local.get $kyS)))
    (local.set $krv (i32x4.splat (local.get $krvS)))
    (local.set $kgu (i32x4.splat (local.get $kguS)))
    (local.set $kgv (i32x4.splat (local.get $kgvS)))
    (local.set $kbu (i32x4.splat (local.get $kbuS)))
    (local.set $halfW (i32.shr_u (local.get $w) (i32.const 1)))
    (local.set $halfH (i32.shr_u (local.get $h) (i32.const 1)))
    (local.set $u (i32.add (local.get $in) (i32.mul (local.get $w) (local.get $h))))
    (local.set $v (i32.add (local.get $u) (i32.mul (local.get $halfW) (local.get $halfH))))
    (local.set $o (local.get $out))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $row) (local.get $halfH)))
        (local.set $top (i32.add (local.get $in) (i32.mul (i32.shl (local.get $row) (i32.const 1)) (local.get $w))))
        (local.set $bot (i32.add (local.get $top) (local.get $w)))
        (local.set $end (local.get $bot))
        (block $colsDone
          (loop $cols
            (br_if $colsDone (i32.ge_u (local.get $top) (local.get $end)))
            ;; Block sums (0..1020) → rounded averages → minus 16.
            (local.set $a
              (i16x8.sub
                (i16x8.shr_u
                  (i16x8.add
                    (i16x8.add
                      (i16x8.extadd_pairwise_i8x16_u (v128.load (local.get $top)))
                      (i16x8.extadd_pairwise_i8x16_u (v128.load (local.get $bot))))
                    (v128.const i16x8 2 2 2 2 2 2 2 2))
                  (i32.const 2))
                (v128.const i16x8 16 16 16 16 16 16 16 16)))
            (local.set $ysLo (call $luma (i32x4.extend_low_i16x8_s (local.get $a)) (local.get $ky)))
            (local.set $ysHi (call $luma (i32x4.extend_high_i16x8_s (local.get $a)) (local.get $ky)))
            (local.set $cu (i16x8.sub (v128.load8x8_u (local.get $u)) (v128.const i16x8 128 128 128 128 128 128 128 128)))
            (local.set $cv (i16x8.sub (v128.load8x8_u (local.get $v)) (v128.const i16x8 128 128 128 128 128 128 128 128)))
            (local.set $uLo (i32x4.extend_low_i16x8_s (local.get $cu)))
            (local.set $uHi (i32x4.extend_high_i16x8_s (local.get $cu)))
            (local.set $vLo (i32x4.extend_low_i16x8_s (local.get $cv)))
            (local.set $vHi (i32x4.extend_high_i16x8_s (local.get $cv)))
            (local.set $r (call $channel (local.get $ysLo) (local.get $ysHi)
              (call $fixed (local.get $vLo) (local.get $krv)) (call $fixed (local.get $vHi) (local.get $krv))))
            (local.set $g (call $channel (local.get $ysLo) (local.get $ysHi)
              (i32x4.neg (i32x4.add (call $fixed (local.get $uLo) (local.get $kgu)) (call $fixed (local.get $vLo) (local.get $kgv))))
              (i32x4.neg (i32x4.add (call $fixed (local.get $uHi) (local.get $kgu)) (call $fixed (local.get $vHi) (local.get $kgv))))))
            (local.set $b (call $channel (local.get $ysLo) (local.get $ysHi)
              (call $fixed (local.get $uLo) (local.get $kbu)) (call $fixed (local.get $uHi) (local.get $kbu))))
            ;; Saturating narrow to bytes is the 0..255 clamp; then R G B interleaved, 24 bytes.
            (local.set $rg (i8x16.narrow_i16x8_u (local.get $r) (local.get $g)))
            (local.set $bb (i8x16.narrow_i16x8_u (local.get $b) (local.get $b)))
            (v128.store (local.get $o)
              (i8x16.shuffle 0 8 16 1 9 17 2 10 18 3 11 19 4 12 20 5 (local.get $rg) (local.get $bb)))
            (v128.store64_lane offset=16 0 (local.get $o)
              (i8x16.shuffle 13 21 6 14 22 7 15 23 0 0 0 0 0 0 0 0 (local.get $rg) (local.get $bb)))
            (local.set $top (i32.add (local.get $top) (i32.const 16)))
            (local.set $bot (i32.add (local.get $bot) (i32.const 16)))
            (local.set $u (i32.add (local.get $u) (i32.const 8)))
            (local.set $v (i32.add (local.get $v) (i32.const 8)))
            (local.set $o (i32.add (local.get $o) (i32.const 24)))
            (br $cols)))
        (local.set $row (i32.add (local.get $row) (i32.const 1)))
        (br $rows))))

  ;; Quarter size: each output pixel is its 4×4 luma block's rounded average with its 2×2 chroma
  ;; block's rounded average; four pixels (16 luma columns) per step. RGB at $out, (w/4)·(h/4)·3 bytes.
  (func (export "quarter") (param $w i32) (param $h i32) (param $in i32) (param $out i32)
        (param $kyS i32) (param $krvS i32) (param $kguS i32) (param $kgvS i32) (param $kbuS i32)
    (local $ky v128) (local $krv v128) (local $kgu v128) (local $kgv v128) (local $kbu v128)
    (local $row i32) (local $halfW i32) (local $l i32) (local $u i32) (local $v i32) (local $o i32) (local $end i32)
    (local $ys v128) (local $cu v128) (local $cv v128) (local $r v128) (local $g v128) (local $b v128)
    (local $rg v128) (local $bb v128) (local $px v128)
    (local.set $ky (i32x4.splat (local.get $kyS)))
    (local.set $krv (i32x4.splat (local.get $krvS)))
    (local.set $kgu (i32x4.splat (local.get $kguS)))
    (local.set $kgv (i32x4.splat (local.get $kgvS)))
    (local.set $kbu (i32x4.splat (local.get $kbuS)))
    (local.set $halfW (i32.shr_u (local.get $w) (i32.const 1)))
    (local.set $o (local.get $out))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (i32.shl (local.get $row) (i32.const 2)) (local.get $h)))
        (local.set $l (i32.add (local.get $in) (i32.mul (i32.shl (local.get $row) (i32.const 2)) (local.get $w))))
        (local.set $end (i32.add (local.get $l) (local.get $w)))
        (local.set $u (i32.add (i32.add (local.get $in) (i32.mul (local.get $w) (local.get $h)))
                               (i32.mul (i32.shl (local.get $row) (i32.const 1)) (local.get $halfW))))
        (local.set $v (i32.add (local.get $u) (i32.mul (local.get $halfW) (i32.shr_u (local.get $h) (i32.const 1)))))
        (block $colsDone
          (loop $cols
            (br_if $colsDone (i32.ge_u (local.get $l) (local.get $end)))
            ;; Four rows of 16 bytes: pair sums per row, added, then pairs of pairs: four 4×4 sums.
            (local.set $ys
              (call $luma
                (i32x4.sub
                  (i32x4.shr_u
                    (i32x4.add
                      (i32x4.extadd_pairwise_i16x8_u
                        (i16x8.add
                          (i16x8.add
                            (i16x8.extadd_pairwise_i8x16_u (v128.load (local.get $l)))
                            (i16x8.extadd_pairwise_i8x16_u (v128.load (i32.add (local.get $l) (local.get $w)))))
                          (i16x8.add
                            (i16x8.extadd_pairwise_i8x16_u (v128.load (i32.add (local.get $l) (i32.shl (local.get $w) (i32.const 1)))))
                            (i16x8.extadd_pairwise_i8x16_u (v128.load (i32.add (local.get $l) (i32.mul (local.get $w) (i32.const 3))))))))
                      (v128.const i32x4 8 8 8 8))
                    (i32.const 4))
                  (v128.const i32x4 16 16 16 16))
                (local.get $ky)))
            ;; Two chroma rows of 8 samples: four 2×2 sums → rounded averages → minus 128.
            (local.set $cu
              (i32x4.sub
                (i32x4.shr_u
                  (i32x4.add
                    (i32x4.extadd_pairwise_i16x8_u
                      (i16x8.add (v128.load8x8_u (local.get $u)) (v128.load8x8_u (i32.add (local.get $u) (local.get $halfW)))))
                    (v128.const i32x4 2 2 2 2))
                  (i32.const 2))
                (v128.const i32x4 128 128 128 128)))
            (local.set $cv
              (i32x4.sub
                (i32x4.shr_u
                  (i32x4.add
                    (i32x4.extadd_pairwise_i16x8_u
                      (i16x8.add (v128.load8x8_u (local.get $v)) (v128.load8x8_u (i32.add (local.get $v) (local.get $halfW)))))
                    (v128.const i32x4 2 2 2 2))
                  (i32.const 2))
                (v128.const i32x4 128 128 128 128)))
            ;; Lanes 0–3 are these four pixels (the upper half repeats them and is not stored).
            (local.set $r (call $channel (local.get $ys) (local.get $ys)
              (call $fixed (local.get $cv) (local.get $krv)) (call $fixed (local.get $cv) (local.get $krv))))
            (local.set $g (call $channel (local.get $ys) (local.get $ys)
              (i32x4.neg (i32x4.add (call $fixed (local.get $cu) (local.get $kgu)) (call $fixed (local.get $cv) (local.get $kgv))))
              (i32x4.neg (i32x4.add (call $fixed (local.get $cu) (local.get $kgu)) (call $fixed (local.get $cv) (local.get $kgv))))))
            (local.set $b (call $channel (local.get $ys) (local.get $ys)
              (call $fixed (local.get $cu) (local.get $kbu)) (call $fixed (local.get $cu) (local.get $kbu))))
            (local.set $rg (i8x16.narrow_i16x8_u (local.get $r) (local.get $g)))
            (local.set $bb (i8x16.narrow_i16x8_u (local.get $b) (local.get $b)))
            ;; R0..3 are bytes 0–3, G0..3 bytes 8–11, B0..3 bytes 16–19: 12 bytes out.
            (local.set $px (i8x16.shuffle 0 8 16 1 9 17 2 10 18 3 11 19 0 0 0 0 (local.get $rg) (local.get $bb)))
            (v128.store64_lane 0 (local.get $o) (local.get $px))
            (v128.store32_lane offset=8 2 (local.get $o) (local.get $px))
            (local.set $l (i32.add (local.get $l) (i32.const 16)))
            (local.set $u (i32.add (local.get $u) (i32.const 8)))
            (local.set $v (i32.add (local.get $v) (i32.const 8)))
            (local.set $o (i32.add (local.get $o) (i32.const 12)))
            (br $cols)))
        (local.set $row (i32.add (local.get $row) (i32.const 1)))
        (br $rows)))) 
  ;; Chroma terms of samples 2k, 2k, 2k+1, 2k+1 (k = 0 or 1 of a four-lane vector): one per pixel.
  (func $pairsLow (param $t v128) (result v128)
    (i8x16.shuffle 0 1 2 3 0 1 2 3 4 5 6 7 4 5 6 7 (local.get $t) (local.get $t)))
  (func $pairsHigh (param $t v128) (result v128)
    (i8x16.shuffle 8 9 10 11 8 9 10 11 12 13 14 15 12 13 14 15 (local.get $t) (local.get $t)))

  ;; One channel of 16 pixels: (ys + term) >> 10 per lane, the four vectors narrowed to 16 bytes
  ;; with saturation (the 0..255 clamp). $t0..$t3 are the per-pixel chroma terms.
  (func $channel16 (param $ys0 v128) (param $ys1 v128) (param $ys2 v128) (param $ys3 v128)
        (param $t0 v128) (param $t1 v128) (param $t2 v128) (param $t3 v128) (result v128)
    (i8x16.narrow_i16x8_u
      (call $channel (local.get $ys0) (local.get $ys1) (local.get $t0) (local.get $t1))
      (call $channel (local.get $ys2) (local.get $ys3) (local.get $t2) (local.get $t3))))

  ;; Full size: every pixel its own luma with its 2×2 block's chroma sample; 16 pixels (8 chroma
  ;; samples) per step. RGB at $out, w·h·3 bytes; chroma planes (w/2)·ceil(h/2).
  (func (export "full") (param $w i32) (param $h i32) (param $in i32) (param $out i32)
        (param $kyS i32) (param $krvS i32) (param $kguS i32) (param $kgvS i32) (param $kbuS i32)
    (local $ky v128) (local $krv v128) (local $kgu v128) (local $kgv v128) (local $kbu v128)
    (local $row i32) (local $halfW i32) (local $uPlane i32) (local $vPlane i32)
    (local $l i32) (local $u i32) (local $v i32) (local $o i32) (local $end i32)
    (local $y v128) (local $ys0 v128) (local $ys1 v128) (local $ys2 v128) (local $ys3 v128)
    (local $cu v128) (local $cv v128) (local $tLo v128) (local $tHi v128)
    (local $r v128) (local $g v128) (local $b v128) (local $rgLo v128) (local $rgHi v128)
    (local.set $ky (i32x4.splat (local.get $kyS)))
    (local.set $krv (i32x4.splat (local.get $krvS)))
    (local.set $kgu (i32x4.splat (local.get $kguS)))
    (local.set $kgv (i32x4.splat (local.get $kgvS)))
    (local.set $kbu (i32x4.splat (local.get $kbuS)))
    (local.set $halfW (i32.shr_u (local.get $w) (i32.const 1)))
    (local.set $uPlane (i32.add (local.get $in) (i32.mul (local.get $w) (local.get $h))))
    (local.set $vPlane (i32.add (local.get $uPlane)
      (i32.mul (local.get $halfW) (i32.shr_u (i32.add (local.get $h) (i32.const 1)) (i32.const 1)))))
    (local.set $l (local.get $in))
    (local.set $o (local.get $out))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $row) (local.get $h)))
        (local.set $end (i32.add (local.get $l) (local.get $w)))
        (local.set $u (i32.add (local.get $uPlane) (i32.mul (i32.shr_u (local.get $row) (i32.const 1)) (local.get $halfW))))
        (local.set $v (i32.add (local.get $vPlane) (i32.mul (i32.shr_u (local.get $row) (i32.const 1)) (local.get $halfW))))
        (block $colsDone
          (loop $cols
            (br_if $colsDone (i32.ge_u (local.get $l) (local.get $end)))
            (local.set $y (v128.load (local.get $l)))
            (local.set $ys0 (call $luma (i32x4.extend_low_i16x8_s (i16x8.sub (i16x8.extend_low_i8x16_u (local.get $y)) (v128.const i16x8 16 16 16 16 16 16 16 16))) (local.get $ky)))
            (local.set $ys1 (call $luma (i32x4.extend_high_i16x8_s (i16x8.sub (i16x8.extend_low_i8x16_u (local.get $y)) (v128.const i16x8 16 16 16 16 16 16 16 16))) (local.get $ky)))
            (local.set $ys2 (call $luma (i32x4.extend_low_i16x8_s (i16x8.sub (i16x8.extend_high_i8x16_u (local.get $y)) (v128.const i16x8 16 16 16 16 16 16 16 16))) (local.get $ky)))
            (local.set $ys3 (call $luma (i32x4.extend_high_i16x8_s (i16x8.sub (i16x8.extend_high_i8x16_u (local.get $y)) (v128.const i16x8 16 16 16 16 16 16 16 16))) (local.get $ky)))
            (local.set $cu (i16x8.sub (v128.load8x8_u (local.get $u)) (v128.const i16x8 128 128 128 128 128 128 128 128)))
            (local.set $cv (i16x8.sub (v128.load8x8_u (local.get $v)) (v128.const i16x8 128 128 128 128 128 128 128 128)))
            ;; Red: rv(v) of samples 0–3 (tLo) and 4–7 (tHi), each used by two pixels.
            (local.set $tLo (call $fixed (i32x4.extend_low_i16x8_s (local.get $cv)) (local.get $krv)))
            (local.set $tHi (call $fixed (i32x4.extend_high_i16x8_s (local.get $cv)) (local.get $krv)))
            (local.set $r (call $channel16 (local.get $ys0) (local.get $ys1) (local.get $ys2) (local.get $ys3)
              (call $pairsLow (local.get $tLo)) (call $pairsHigh (local.get $tLo)) (call $pairsLow (local.get $tHi)) (call $pairsHigh (local.get $tHi))))
            ;; Green: −(gu(u) + gv(v)).
            (local.set $tLo (i32x4.neg (i32x4.add
              (call $fixed (i32x4.extend_low_i16x8_s (local.get $cu)) (local.get $kgu))
              (call $fixed (i32x4.extend_low_i16x8_s (local.get $cv)) (local.get $kgv)))))
            (local.set $tHi (i32x4.neg (i32x4.add
              (call $fixed (i32x4.extend_high_i16x8_s (local.get $cu)) (local.get $kgu))
              (call $fixed (i32x4.extend_high_i16x8_s (local.get $cv)) (local.get $kgv)))))
            (local.set $g (call $channel16 (local.get $ys0) (local.get $ys1) (local.get $ys2) (local.get $ys3)
              (call $pairsLow (local.get $tLo)) (call $pairsHigh (local.get $tLo)) (call $pairsLow (local.get $tHi)) (call $pairsHigh (local.get $tHi))))
            ;; Blue: bu(u).
            (local.set $tLo (call $fixed (i32x4.extend_low_i16x8_s (local.get $cu)) (local.get $kbu)))
            (local.set $tHi (call $fixed (i32x4.extend_high_i16x8_s (local.get $cu)) (local.get $kbu)))
            (local.set $b (call $channel16 (local.get $ys0) (local.get $ys1) (local.get $ys2) (local.get $ys3)
              (call $pairsLow (local.get $tLo)) (call $pairsHigh (local.get $tLo)) (call $pairsLow (local.get $tHi)) (call $pairsHigh (local.get $tHi))))
            ;; R G B interleaved, 48 bytes: R and G paired first, then blue woven in.
            (local.set $rgLo (i8x16.shuffle 0 16 1 17 2 18 3 19 4 20 5 21 6 22 7 23 (local.get $r) (local.get $g)))
            (local.set $rgHi (i8x16.shuffle 8 24 9 25 10 26 11 27 12 28 13 29 14 30 15 31 (local.get $r) (local.get $g)))
            (v128.store (local.get $o)
              (i8x16.shuffle 0 1 16 2 3 17 4 5 18 6 7 19 8 9 20 10 (local.get $rgLo) (local.get $b)))
            (v128.store offset=16 (local.get $o)
              (i8x16.shuffle 0 21 2 3 22 5 6 23 8 9 24 11 12 25 14 15
                (i8x16.shuffle 11 0 12 13 0 14 15 0 16 17 0 18 19 0 20 21 (local.get $rgLo) (local.get $rgHi))
                (local.get $b)))
            (v128.store offset=32 (local.get $o)
              (i8x16.shuffle 26 6 7 27 8 9 28 10 11 29 12 13 30 14 15 31 (local.get $rgHi) (local.get $b)))
            (local.set $l (i32.add (local.get $l) (i32.const 16)))
            (local.set $u (i32.add (local.get $u) (i32.const 8)))
            (local.set $v (i32.add (local.get $v) (i32.const 8)))
            (local.set $o (i32.add (local.get $o) (i32.const 48)))
            (br $cols)))
        (local.set $row (i32.add (local.get $row) (i32.const 1)))
        (br $rows)))))
