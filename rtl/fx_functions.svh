// Integer primitives of the chip numerics (docs/numerics.md section 1) as SystemVerilog
// functions, included inside each module body (`include "fx_functions.svh"`) so Verilator and
// yosys 0.23 both accept them without package support. Each mirrors the function of the same
// name in model/fixed_point.h bit for bit; the Verilator tests (tests/rtl/) compare them.

localparam logic signed [63:0] FX_I64_MAX = 64'sh7FFF_FFFF_FFFF_FFFF;
localparam logic signed [63:0] FX_I32_MAX = 64'sd2147483647;

// |x| as an unsigned 64-bit value (INT64_MIN gives 2^63).
function automatic logic [63:0] fx_abs_u64(input logic signed [63:0] x);
  fx_abs_u64 = x[63] ? (~x + 64'd1) : x;
endfunction

function automatic logic signed [63:0] fx_saturate(input logic signed [63:0] x,
                                                   input logic signed [63:0] limit);
  if (x > limit) fx_saturate = limit;
  else if (x < -limit) fx_saturate = -limit;
  else fx_saturate = x;
endfunction

function automatic logic signed [31:0] fx_sat32(input logic signed [63:0] x);
  logic signed [63:0] t;
  t = fx_saturate(x, FX_I32_MAX);
  fx_sat32 = t[31:0];
endfunction

// RS(x, s): x / 2^s rounded half away from zero for s > 0; for s <= 0 the saturating left
// shift x * 2^-s (model/fixed_point.h round_shift).
function automatic logic signed [63:0] fx_round_shift(input logic signed [63:0] x,
                                                      input logic signed [31:0] s);
  logic [63:0] mag;
  logic [63:0] r;
  logic [31:0] ls;
  mag = fx_abs_u64(x);
  if (s <= 0) begin
    ls = -s;
    if (x == 0) fx_round_shift = 0;
    else if (ls >= 63 || mag > (FX_I64_MAX >> ls)) fx_round_shift = x[63] ? -FX_I64_MAX : FX_I64_MAX;
    else fx_round_shift = x <<< ls;
  end else begin
    if (s < 64) r = (mag >> s) + ((mag >> (s - 1)) & 64'd1);
    else if (s == 64) r = mag >> 63;
    else r = 64'd0;
    fx_round_shift = x[63] ? -$signed(r) : $signed(r);
  end
endfunction

// RSU(x, s) for unsigned x (ties up).
function automatic logic [63:0] fx_round_shift_u(input logic [63:0] x, input logic signed [31:0] s);
  logic [31:0] ls;
  if (s <= 0) begin
    ls = -s;
    fx_round_shift_u = x << ls;
  end else if (s >= 64) fx_round_shift_u = (s == 64) ? (x >> 63) : 64'd0;
  else fx_round_shift_u = (x >> s) + ((x >> (s - 1)) & 64'd1);
endfunction

// bitlen(x): number of significant bits of x (0 for 0).
function automatic logic [6:0] fx_bit_length(input logic [63:0] x);
  fx_bit_length = 7'd0;
  for (int i = 0; i < 64; i++) if (x[i]) fx_bit_length = 7'(i + 1);
endfunction

// NORM(m, e): {e[31:0], m[14:0]} packed as {e, 1'b0, m} in 48 bits (m 15 bits in [14:0],
// e signed 32 bits in [47:16]); m = 0 gives (0, 0).
function automatic logic [47:0] fx_dyadic_normalize(input logic [63:0] m_in,
                                                     input logic signed [31:0] e_in);
  logic [63:0] m;
  logic signed [31:0] e;
  logic [6:0] b;
  m = m_in;
  e = e_in;
  if (m == 0) fx_dyadic_normalize = 48'd0;
  else begin
    b = fx_bit_length(m);
    if (b > 15) begin
      m = fx_round_shift_u(m, 32'(b) - 15);
      e = e - (32'(b) - 15);
      if (m == 64'd32768) begin
        m = 64'd16384;
        e = e - 1;
      end
    end else if (b < 15) begin
      m = m << (15 - b);
      e = e + (15 - 32'(b));
    end
    fx_dyadic_normalize = {e, 1'b0, m[14:0]};
  end
endfunction

function automatic logic [47:0] fx_dyadic_mul(input logic [47:0] a, input logic [47:0] b);
  if (a[14:0] == 0 || b[14:0] == 0) fx_dyadic_mul = 48'd0;
  else fx_dyadic_mul = fx_dyadic_normalize(64'(a[14:0]) * 64'(b[14:0]),
                                           $signed(a[47:16]) + $signed(b[47:16]));
endfunction

// DIV(n, d) = sign(n) * floor((|n| + floor(d/2)) / d) for d > 0, by QBITS restoring steps: exact
// when the quotient is below 2^QBITS, otherwise all ones (callers saturate below that).
function automatic logic signed [63:0] fx_div_round_q(input logic signed [63:0] n,
                                                      input logic [63:0] d, input int qbits);
  logic [127:0] rem;
  logic [63:0] q;
  rem = {64'd0, fx_abs_u64(n)} + {65'd0, d[63:1]};
  q = 64'd0;
  for (int i = 63; i >= 0; i--) begin
    if (i < qbits && rem >= ({64'd0, d} << i)) begin
      rem = rem - ({64'd0, d} << i);
      q[i] = 1'b1;
    end
  end
  fx_div_round_q = n[63] ? -$signed(q) : $signed(q);
endfunction

// RATIO(num, den) for 1 <= num, den < 2^48: packed dyadic {e, 0, m} as fx_dyadic_normalize.
function automatic logic [47:0] fx_dyadic_ratio(input logic [63:0] num, input logic [63:0] den);
  logic signed [31:0] k;
  logic below;
  logic [63:0] m;
  k = 14 + 32'(fx_bit_length(den)) - 32'(fx_bit_length(num));
  if (k >= 0) below = (num << k) < (den << 14);
  else below = num < (den << (14 - k));
  if (below) k = k + 1;
  if (k >= 0) m = fx_div_round_q($signed(num << k), den, 17);
  else m = fx_div_round_q($signed(num), den << (-k), 17);
  if (m == 64'd32768) begin
    m = 64'd16384;
    k = k - 1;
  end
  fx_dyadic_ratio = {k, 1'b0, m[14:0]};
endfunction

// One output of QUANT (docs/numerics.md section 4): SAT(DIV(v * 2^k, m), qmax) for k >= 0,
// SAT(DIV(v, m * 2^-k), qmax) for k < 0, where (m, k) = RATIO(max|v|, qmax). |v| < 2^47.
function automatic logic signed [7:0] fx_quant_one(input logic signed [63:0] v,
                                                   input logic [47:0] mk, input int qmax);
  logic signed [31:0] k;
  logic [63:0] m;
  logic signed [63:0] q;
  k = $signed(mk[47:16]);
  m = 64'(mk[14:0]);
  if (k >= 0) q = fx_div_round_q(v <<< k, m, 9);
  else q = fx_div_round_q(v, m << (-k), 9);
  q = fx_saturate(q, 64'(qmax));
  fx_quant_one = q[7:0];
endfunction

// The sine table (2^T + 1 entries, Q30) interpolated between entries s0 and s1 with the 16
// phase bits below the table index (fx::sin_q30 before its int32 cast).
function automatic logic signed [63:0] fx_sine_interp(input logic signed [31:0] s0,
                                                      input logic signed [31:0] s1,
                                                      input logic [31:0] phase, input int t);
  logic signed [63:0] r;
  logic [31:0] frac;
  frac = (phase >> (16 - t)) & 32'h0000FFFF;
  r = 64'(frac);
  fx_sine_interp = 64'(s0) + fx_round_shift((64'(s1) - 64'(s0)) * r, 16);
endfunction
