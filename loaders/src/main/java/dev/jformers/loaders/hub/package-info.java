/**
 * Hugging Face Hub model ids: downloads into, and reads from, the cache Python's huggingface_hub
 * shares ({@code ~/.cache/huggingface/hub}, layout {@code models--org--name/{blobs,refs,snapshots}}).
 * <ul>
 *   <li>{@link dev.jformers.loaders.hub.HubClient}: {@code snapshot(repoId, revision)} → a local model folder;
 *       {@code fromEnvironment()} reads {@code HF_HUB_CACHE}, {@code HF_HOME}, {@code HF_ENDPOINT},
 *       {@code HF_TOKEN}, {@code HF_HUB_OFFLINE} ({@link dev.jformers.loaders.hub.HubEnvironment}), or a
 *       builder takes them explicitly;</li>
 *   <li>{@link dev.jformers.loaders.hub.HubCache}: the layout, cache-only lookups, listing and removal;</li>
 *   <li>{@link dev.jformers.loaders.hub.HubException}: one-line errors with a
 *       {@link dev.jformers.loaders.hub.HubException.Reason} (not found, gated, network, not cached, integrity).</li>
 * </ul>
 */
package dev.jformers.loaders.hub;
