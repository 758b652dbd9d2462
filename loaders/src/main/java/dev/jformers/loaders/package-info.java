/**
 * Weight loaders: every format becomes the same thing, a {@link dev.jformers.loaders.WeightSource}
 * mapping Hugging Face tensor names to {@link dev.jformers.core.Tensor}s.
 * <ul>
 *   <li>{@link dev.jformers.loaders.Checkpoints#open} detects the format of a file or model directory;</li>
 *   <li>{@link dev.jformers.loaders.SafetensorsFile} (memory-mapped, zero copy),
 *       {@link dev.jformers.loaders.TorchCheckpoint} (zip and legacy {@code torch.save}, restricted unpickler),
 *       {@link dev.jformers.loaders.TfCheckpoint} + {@link dev.jformers.loaders.TfNames} (TensorBundle, Google BERT / OpenAI GPT-2 names),
 *       {@link dev.jformers.loaders.OnnxWeights} (initializers, recovered MatMul weight names),
 *       {@link dev.jformers.loaders.ShardedSource} ({@code *.index.json});</li>
 *   <li>{@link dev.jformers.loaders.Inspect} and {@link dev.jformers.loaders.SafetensorsWriter} back the CLI's
 *       {@code inspect} and {@code convert}.</li>
 * </ul>
 * Bad input of any kind raises {@link dev.jformers.loaders.LoaderException}, naming the file, the tensor and the reason.
 */
package dev.jformers.loaders;
