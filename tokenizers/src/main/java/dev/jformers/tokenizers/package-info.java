/**
 * Tokenizers with Hugging Face's exact ids and offsets: BERT's WordPiece and GPT-2 / RoBERTa byte-level BPE.
 *
 * <h2>Use</h2>
 * <pre>{@code
 * Tokenizer tok = AutoTokenizer.fromPretrained(Path.of("models/bert-base-uncased"));
 * Encoding e = tok.encode("Hello, world!");          // [CLS] hello , world ! [SEP]
 * int[] ids = e.ids();                                 // input_ids
 * int[] mask = e.attentionMask();
 * int[][] spans = e.offsets();                         // offset_mapping (UTF-16 indices)
 *
 * // question answering: keep the question, window the context
 * Encoding qa = tok.encode(question, context, EncodeOptions.defaults()
 *         .withMaxLength(384).withTruncation(TruncationStrategy.ONLY_SECOND).withStride(128)
 *         .withReturnOverflowing(true).withPadding(PaddingStrategy.MAX_LENGTH));
 * // qa, then qa.overflowing(): one Encoding per window
 *
 * List<Encoding> batch = tok.encodeBatch(texts, EncodeOptions.defaults().withPadding(PaddingStrategy.LONGEST));
 * String text = tok.decode(ids, true);                 // skip special tokens
 * }</pre>
 *
 * <h2>How it is built (HF's pipeline, one class per step)</h2>
 * <ol>
 *   <li>{@code AddedVocabulary}: special and added tokens ([MASK], {@code <|endoftext|>}) are found in the raw text
 *       first (with lstrip/rstrip);</li>
 *   <li>the text between them goes to a {@code TextModel}: {@code WordPieceModel} (BERT's basic tokenizer +
 *       WordPiece) or {@code BpeModel} (GPT-2's pre-tokenization regex + byte-level BPE);</li>
 *   <li>{@link dev.jformers.tokenizers.HfTokenizer} truncates, adds the special tokens of the
 *       {@code PostProcessor} template and pads.</li>
 * </ol>
 * Files are read by {@link dev.jformers.tokenizers.AutoTokenizer} ({@code tokenizer.json}, or {@code vocab.txt} /
 * {@code vocab.json} + {@code merges.txt} with {@code tokenizer_config.json} and {@code special_tokens_map.json}).
 * Errors are {@link dev.jformers.tokenizers.TokenizerException}s. Everything is immutable and thread-safe.
 */
package dev.jformers.tokenizers;
