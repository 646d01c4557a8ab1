// A narrow C API over the flatc-generated C++ for schemas/quotecast.fbs: an encoder that builds
// one Packet at a time in a reused FlatBufferBuilder, and the Verifier.
#ifndef QUOTECAST_SCHEMA_H
#define QUOTECAST_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct qc_encoder qc_encoder;

typedef struct qc_book_level {
  uint32_t price;
  uint32_t orders;
  uint64_t shares;
} qc_book_level;

typedef struct qc_definition {
  const char *symbol;
  size_t symbol_length;
  uint32_t round_lot_size;
  uint32_t etp_leverage_factor;
  uint16_t locate;
  uint16_t channel;
  uint16_t issue_sub_type;
  uint8_t market_category;
  uint8_t financial_status;
  uint8_t issue_classification;
  uint8_t round_lots_only;
  uint8_t authenticity;
  uint8_t short_sale_threshold;
  uint8_t ipo_flag;
  uint8_t luld_tier;
  uint8_t etp_flag;
  uint8_t inverse;
} qc_definition;

/// Upper bounds on the bytes one update can add to a packet (table, vtable, padding and its
/// slot in the updates vector), and on a finished packet's fixed overhead.
enum {
  QC_STRUCT_UPDATE_MAX_BYTES = 128,
  QC_DEFINITION_UPDATE_MAX_BYTES = 224,
  QC_SNAPSHOT_UPDATE_BASE_MAX_BYTES = 192,
  QC_SNAPSHOT_LEVEL_BYTES = 16,
  QC_PACKET_OVERHEAD_MAX_BYTES = 96,
  QC_MAX_UPDATES_PER_PACKET = 4096
};

qc_encoder *qc_encoder_create(size_t initial_bytes);
void qc_encoder_destroy(qc_encoder *encoder);
/// Starts a new packet, reusing the builder's memory.
void qc_encoder_reset(qc_encoder *encoder);
/// Bytes written to the builder so far for the open packet.
size_t qc_encoder_size(const qc_encoder *encoder);
uint32_t qc_encoder_count(const qc_encoder *encoder);

void qc_encoder_add_level(qc_encoder *encoder, uint64_t upstream_sequence, uint64_t timestamp_ns, uint16_t locate,
                          uint8_t side, uint8_t action, uint16_t level_index, uint32_t price, uint64_t shares,
                          uint32_t orders);
void qc_encoder_add_trade(qc_encoder *encoder, uint64_t upstream_sequence, uint64_t timestamp_ns, uint16_t locate,
                          uint8_t kind, uint8_t side, uint8_t cross_type, uint32_t price, uint64_t shares,
                          uint64_t match_number);
void qc_encoder_add_trade_break(qc_encoder *encoder, uint64_t upstream_sequence, uint64_t timestamp_ns,
                                uint64_t match_number);
void qc_encoder_add_trading_state(qc_encoder *encoder, uint64_t upstream_sequence, uint64_t timestamp_ns,
                                  uint16_t locate, uint8_t state, uint32_t reason);
void qc_encoder_add_operational_halt(qc_encoder *encoder, uint64_t upstream_sequence, uint64_t timestamp_ns,
                                     uint16_t locate, uint8_t market_code, uint8_t action);
void qc_encoder_add_reg_sho(qc_encoder *encoder, uint64_t upstream_sequence, uint64_t timestamp_ns, uint16_t locate,
                            uint8_t action);
void qc_encoder_add_luld_collar(qc_encoder *encoder, uint64_t upstream_sequence, uint64_t timestamp_ns,
                                uint16_t locate, uint32_t reference_price, uint32_t upper_price, uint32_t lower_price,
                                uint32_t extension);
void qc_encoder_add_imbalance(qc_encoder *encoder, uint64_t upstream_sequence, uint64_t timestamp_ns, uint16_t locate,
                              uint64_t paired_shares, uint64_t imbalance_shares, uint32_t far_price,
                              uint32_t near_price, uint32_t reference_price, uint8_t direction, uint8_t cross_type,
                              uint8_t price_variation);
void qc_encoder_add_system_event(qc_encoder *encoder, uint64_t upstream_sequence, uint64_t timestamp_ns,
                                 uint8_t code);
void qc_encoder_add_market_wide_breaker(qc_encoder *encoder, uint64_t upstream_sequence, uint64_t timestamp_ns,
                                        uint8_t level);
void qc_encoder_add_feed_status(qc_encoder *encoder, uint64_t upstream_sequence, uint64_t timestamp_ns,
                                uint64_t lost_from_sequence, uint64_t lost_messages, uint8_t state);
void qc_encoder_add_definition(qc_encoder *encoder, uint64_t upstream_sequence, uint64_t timestamp_ns,
                               const qc_definition *definition);
void qc_encoder_add_snapshot(qc_encoder *encoder, uint64_t upstream_sequence, uint64_t timestamp_ns, uint16_t locate,
                             uint16_t depth, uint8_t trading_state, const qc_book_level *bids, size_t bid_count,
                             const qc_book_level *asks, size_t ask_count, uint64_t last_channel_sequence,
                             uint8_t reg_sho_action, uint8_t operational_halt_action);

/// The schema version this build writes (FeedLayout.schema_version).
enum { QC_SCHEMA_VERSION = 1 };

/// One instance's layout (see FeedLayout in quotecast.fbs).
typedef struct qc_layout {
  uint16_t schema_version;
  uint16_t channel_count;
  uint32_t group_base_address;
  uint16_t group_base_port;
  uint32_t snapshot_address;
  uint16_t snapshot_port;
  const uint8_t *owned;  // bitmask, (channel_count + 7) / 8 bytes
  size_t owned_bytes;
  uint64_t session;
  uint16_t depth;
  uint16_t snapshot_depth;
  uint16_t datagram_bytes;
  const char *instance;
  size_t instance_length;
} qc_layout;

void qc_encoder_add_layout(qc_encoder *encoder, uint64_t upstream_sequence, uint64_t timestamp_ns,
                           const qc_layout *layout);

/// Finishes the open packet; the bytes stay valid until the next reset.
const uint8_t *qc_encoder_finish(qc_encoder *encoder, uint16_t channel, uint64_t sequence, uint64_t timestamp_ns,
                                 uint64_t session,
                                 size_t *length);

/// 1 if the bytes are a well-formed Packet (FlatBuffers Verifier plus file identifier), else 0.
int qc_verify_packet(const uint8_t *data, size_t length);

#ifdef __cplusplus
}
#endif

#endif
