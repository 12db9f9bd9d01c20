// hw_kv_bank: one KV SRAM bank (docs/numerics.md section 12; chip YAML attention.kv_sram):
// DEPTH words of WIDTH bits with one write port and one read port (ports_per_bank = 2: a write
// and a read in the same cycle never conflict). A word is one cache line of one position and kv
// head: {v_e[16], v_m[16], k_e[16], k_m[16], V[HD x int8], K[HD x int8]} for hw_attention_core.
//
// Interface: write port wr_en / wr_addr / wr_data (the word is in the array WL cycles after
// the cycle it is presented: WL - 1 register stages, then the array's write at the clock edge;
// write latency WL >= 1 cycles); read port rd_en / rd_addr, answered by rd_valid / rd_data RL
// cycles later (RL >= 2 register stages: read latency RL cycles, one read per cycle: initiation
// interval 1). A read of the address written at the same edge returns the old word
// (read-before-write).
module hw_kv_bank #(
    parameter int DEPTH = 64,
    parameter int WIDTH = 320,
    parameter int RL = 2,
    parameter int WL = 1,
    localparam int AW = DEPTH > 1 ? $clog2(DEPTH) : 1
) (
    input  logic              clk,
    input  logic              rst,
    input  logic              wr_en,
    input  logic [AW-1:0]     wr_addr,
    input  logic [WIDTH-1:0]  wr_data,
    input  logic              rd_en,
    input  logic [AW-1:0]     rd_addr,
    output logic              rd_valid,
    output logic [WIDTH-1:0]  rd_data
);
  logic [WIDTH-1:0] mem [DEPTH];
  logic [RL-1:0] v_pipe;
  logic [WIDTH-1:0] d_pipe [RL];

  logic w_en [WL];
  logic [AW-1:0] w_addr [WL];
  logic [WIDTH-1:0] w_data [WL];
  always_comb begin
    w_en[0] = wr_en;
    w_addr[0] = wr_addr;
    w_data[0] = wr_data;
  end
  for (genvar i = 1; i < WL; i++) begin : g_wpipe
    always_ff @(posedge clk) begin
      w_en[i] <= rst ? 1'b0 : w_en[i - 1];
      w_addr[i] <= w_addr[i - 1];
      w_data[i] <= w_data[i - 1];
    end
  end

  always_ff @(posedge clk) begin
    if (w_en[WL - 1]) mem[w_addr[WL - 1]] <= w_data[WL - 1];
    d_pipe[0] <= mem[rd_addr];
    for (int i = 1; i < RL; i++) d_pipe[i] <= d_pipe[i-1];
    if (rst) v_pipe <= '0;
    else v_pipe <= {v_pipe[RL-2:0], rd_en};
  end
  assign rd_valid = v_pipe[RL-1];
  assign rd_data = d_pipe[RL-1];
endmodule
