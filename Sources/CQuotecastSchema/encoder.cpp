#include "quotecast_schema.h"

#include <new>

#include "generated/quotecast_generated.h"

namespace fb = flatbuffers;
namespace qf = quotecast::feed;

struct qc_encoder {
  fb::FlatBufferBuilder builder;
  fb::Offset<qf::Update> updates[QC_MAX_UPDATES_PER_PACKET];
  uint32_t count = 0;

  explicit qc_encoder(size_t initial_bytes) : builder(initial_bytes) {}
};

namespace {

// Every update shares this prologue; the payload setter is the only difference.
template <typename SetPayload>
inline void add_update(qc_encoder *encoder, uint64_t upstream_sequence, uint64_t timestamp_ns, SetPayload set) {
  if (encoder->count >= QC_MAX_UPDATES_PER_PACKET) return;  // the Swift side never lets this happen
  qf::UpdateBuilder update(encoder->builder);
  update.add_upstream_sequence(upstream_sequence);
  update.add_timestamp_ns(timestamp_ns);
  set(update);
  encoder->updates[encoder->count++] = update.Finish();
}

}  // namespace

extern "C" {

qc_encoder *qc_encoder_create(size_t initial_bytes) { return new (std::nothrow) qc_encoder(initial_bytes); }

void qc_encoder_destroy(qc_encoder *encoder) { delete encoder; }

void qc_encoder_reset(qc_encoder *encoder) {
  encoder->builder.Clear();
  encoder->count = 0;
}

size_t qc_encoder_size(const qc_encoder *encoder) { return encoder->builder.GetSize(); }

uint32_t qc_encoder_count(const qc_encoder *encoder) { return encoder->count; }

void qc_encoder_add_level(qc_encoder *encoder, uint64_t upstream_sequence, uint64_t timestamp_ns, uint16_t locate,
                          uint8_t side, uint8_t action, uint16_t level_index, uint32_t price, uint64_t shares,
                          uint32_t orders) {
  const qf::LevelUpdate level(price, orders, shares, locate, level_index, static_cast<qf::Side>(side),
                              static_cast<qf::LevelAction>(action));
  add_update(encoder, upstream_sequence, timestamp_ns, [&](qf::UpdateBuilder &update) { update.add_level(&level); });
}

void qc_encoder_add_trade(qc_encoder *encoder, uint64_t upstream_sequence, uint64_t timestamp_ns, uint16_t locate,
                          uint8_t kind, uint8_t side, uint8_t cross_type, uint32_t price, uint64_t shares,
                          uint64_t match_number) {
  const qf::Trade trade(match_number, shares, price, locate, static_cast<qf::TradeKind>(kind),
                        static_cast<qf::Side>(side), cross_type);
  add_update(encoder, upstream_sequence, timestamp_ns, [&](qf::UpdateBuilder &update) { update.add_trade(&trade); });
}

void qc_encoder_add_trade_break(qc_encoder *encoder, uint64_t upstream_sequence, uint64_t timestamp_ns,
                                uint64_t match_number) {
  const qf::TradeBreak trade_break(match_number);
  add_update(encoder, upstream_sequence, timestamp_ns,
             [&](qf::UpdateBuilder &update) { update.add_trade_break(&trade_break); });
}

void qc_encoder_add_trading_state(qc_encoder *encoder, uint64_t upstream_sequence, uint64_t timestamp_ns,
                                  uint16_t locate, uint8_t state, uint32_t reason) {
  const qf::TradingState trading_state(reason, locate, state);
  add_update(encoder, upstream_sequence, timestamp_ns,
             [&](qf::UpdateBuilder &update) { update.add_trading_state(&trading_state); });
}

void qc_encoder_add_operational_halt(qc_encoder *encoder, uint64_t upstream_sequence, uint64_t timestamp_ns,
                                     uint16_t locate, uint8_t market_code, uint8_t action) {
  const qf::OperationalHalt halt(locate, market_code, action);
  add_update(encoder, upstream_sequence, timestamp_ns,
             [&](qf::UpdateBuilder &update) { update.add_operational_halt(&halt); });
}

void qc_encoder_add_reg_sho(qc_encoder *encoder, uint64_t upstream_sequence, uint64_t timestamp_ns, uint16_t locate,
                            uint8_t action) {
  const qf::RegSho reg_sho(locate, action);
  add_update(encoder, upstream_sequence, timestamp_ns, [&](qf::UpdateBuilder &update) { update.add_reg_sho(&reg_sho); });
}

void qc_encoder_add_luld_collar(qc_encoder *encoder, uint64_t upstream_sequence, uint64_t timestamp_ns,
                                uint16_t locate, uint32_t reference_price, uint32_t upper_price, uint32_t lower_price,
                                uint32_t extension) {
  const qf::LuldCollar collar(reference_price, upper_price, lower_price, extension, locate);
  add_update(encoder, upstream_sequence, timestamp_ns,
             [&](qf::UpdateBuilder &update) { update.add_luld_collar(&collar); });
}

void qc_encoder_add_imbalance(qc_encoder *encoder, uint64_t upstream_sequence, uint64_t timestamp_ns, uint16_t locate,
                              uint64_t paired_shares, uint64_t imbalance_shares, uint32_t far_price,
                              uint32_t near_price, uint32_t reference_price, uint8_t direction, uint8_t cross_type,
                              uint8_t price_variation) {
  const qf::Imbalance imbalance(paired_shares, imbalance_shares, far_price, near_price, reference_price, locate,
                                direction, cross_type, price_variation);
  add_update(encoder, upstream_sequence, timestamp_ns,
             [&](qf::UpdateBuilder &update) { update.add_imbalance(&imbalance); });
}

void qc_encoder_add_system_event(qc_encoder *encoder, uint64_t upstream_sequence, uint64_t timestamp_ns,
                                 uint8_t code) {
  const qf::SystemEvent event(code);
  add_update(encoder, upstream_sequence, timestamp_ns,
             [&](qf::UpdateBuilder &update) { update.add_system_event(&event); });
}

void qc_encoder_add_market_wide_breaker(qc_encoder *encoder, uint64_t upstream_sequence, uint64_t timestamp_ns,
                                        uint8_t level) {
  const qf::MarketWideBreaker breaker(level);
  add_update(encoder, upstream_sequence, timestamp_ns,
             [&](qf::UpdateBuilder &update) { update.add_market_wide_breaker(&breaker); });
}

void qc_encoder_add_feed_status(qc_encoder *encoder, uint64_t upstream_sequence, uint64_t timestamp_ns,
                                uint64_t lost_from_sequence, uint64_t lost_messages, uint8_t state) {
  const qf::FeedStatus status(lost_from_sequence, lost_messages, state);
  add_update(encoder, upstream_sequence, timestamp_ns,
             [&](qf::UpdateBuilder &update) { update.add_feed_status(&status); });
}

void qc_encoder_add_layout(qc_encoder *encoder, uint64_t upstream_sequence, uint64_t timestamp_ns,
                           const qc_layout *l) {
  if (encoder->count >= QC_MAX_UPDATES_PER_PACKET) return;
  auto &builder = encoder->builder;
  const auto owned = builder.CreateVector(l->owned, l->owned_bytes);
  const auto instance = builder.CreateString(l->instance, l->instance_length);
  const qf::Group group_base(l->group_base_address, l->group_base_port);
  const qf::Group snapshot_group(l->snapshot_address, l->snapshot_port);
  const auto layout = qf::CreateFeedLayout(builder, l->schema_version, l->channel_count, &group_base, &snapshot_group,
                                           owned, l->session, l->depth, l->snapshot_depth, l->datagram_bytes, instance);
  add_update(encoder, upstream_sequence, timestamp_ns, [&](qf::UpdateBuilder &update) { update.add_layout(layout); });
}

void qc_encoder_add_definition(qc_encoder *encoder, uint64_t upstream_sequence, uint64_t timestamp_ns,
                               const qc_definition *d) {
  if (encoder->count >= QC_MAX_UPDATES_PER_PACKET) return;
  auto &builder = encoder->builder;
  // Nested tables are finished before the Update table that points at them starts.
  const auto symbol = builder.CreateString(d->symbol, d->symbol_length);
  const auto definition = qf::CreateInstrumentDefinition(
      builder, d->locate, symbol, d->channel, d->round_lot_size, d->market_category, d->financial_status,
      d->issue_classification, d->round_lots_only, d->issue_sub_type, d->authenticity, d->short_sale_threshold,
      d->ipo_flag, d->luld_tier, d->etp_flag, d->etp_leverage_factor, d->inverse);
  add_update(encoder, upstream_sequence, timestamp_ns,
             [&](qf::UpdateBuilder &update) { update.add_definition(definition); });
}

void qc_encoder_add_snapshot(qc_encoder *encoder, uint64_t upstream_sequence, uint64_t timestamp_ns, uint16_t locate,
                             uint16_t depth, uint8_t trading_state, const qc_book_level *bids, size_t bid_count,
                             const qc_book_level *asks, size_t ask_count, uint64_t last_channel_sequence,
                             uint8_t reg_sho_action, uint8_t operational_halt_action) {
  if (encoder->count >= QC_MAX_UPDATES_PER_PACKET) return;
  auto &builder = encoder->builder;
  static_assert(sizeof(qc_book_level) == sizeof(qf::BookLevel), "qc_book_level must match BookLevel");
  const auto bid_vector =
      builder.CreateVectorOfStructs(reinterpret_cast<const qf::BookLevel *>(bids), bid_count);
  const auto ask_vector =
      builder.CreateVectorOfStructs(reinterpret_cast<const qf::BookLevel *>(asks), ask_count);
  const auto snapshot = qf::CreateBookSnapshot(builder, locate, depth, trading_state, bid_vector, ask_vector,
                                               last_channel_sequence, reg_sho_action, operational_halt_action);
  add_update(encoder, upstream_sequence, timestamp_ns,
             [&](qf::UpdateBuilder &update) { update.add_snapshot(snapshot); });
}

const uint8_t *qc_encoder_finish(qc_encoder *encoder, uint16_t channel, uint64_t sequence, uint64_t timestamp_ns,
                                 uint64_t session, size_t *length) {
  auto &builder = encoder->builder;
  const auto updates = builder.CreateVector(encoder->updates, encoder->count);
  qf::PacketBuilder packet(builder);
  packet.add_channel(channel);
  packet.add_sequence(sequence);
  packet.add_timestamp_ns(timestamp_ns);
  packet.add_session(session);
  packet.add_updates(updates);
  qf::FinishPacketBuffer(builder, packet.Finish());
  *length = builder.GetSize();
  return builder.GetBufferPointer();
}

int qc_verify_packet(const uint8_t *data, size_t length) {
  if (data == nullptr) return 0;
  fb::Verifier verifier(data, length);
  return qf::VerifyPacketBuffer(verifier) ? 1 : 0;
}

}  // extern "C"
