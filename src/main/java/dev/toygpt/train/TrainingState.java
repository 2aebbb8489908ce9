package dev.toygpt.train;

/**
 * Where a training run stands, saved with each checkpoint so --resume continues exactly.
 *
 * @param step          optimizer steps taken
 * @param evaluatedStep the last step whose losses were estimated (-1 if none)
 * @param trainRng      state of the generator that draws training batches
 * @param evalRng       state of the generator that draws evaluation batches
 * @param dropoutRng    state of the model's dropout generator
 * @param bestValLoss   best validation loss so far (NaN before the first evaluation)
 * @param bestStep      the step that reached it (-1 if none)
 */
public record TrainingState(long step, long evaluatedStep, long trainRng, long evalRng, long dropoutRng,
                            double bestValLoss, long bestStep, double elapsedSeconds) {
}
