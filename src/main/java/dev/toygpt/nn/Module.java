package dev.toygpt.nn;

import dev.toygpt.autograd.Tensor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A building block with named parameters and named sub-modules, like {@code torch.nn.Module}. The names
 * compose with dots into the same {@code state_dict} names PyTorch uses, e.g. {@code blocks.0.ln1.weight}.
 */
public abstract class Module {
    private final Map<String, Tensor> parameters = new LinkedHashMap<>();
    private final Map<String, Module> children = new LinkedHashMap<>();
    private boolean training = true;

    protected Tensor addParameter(String name, Tensor parameter) {
        parameters.put(name, parameter);
        return parameter;
    }

    protected <M extends Module> M addModule(String name, M module) {
        children.put(name, module);
        return module;
    }

    /** Every trainable tensor, each once, in registration order. */
    public List<Tensor> parameters() {
        List<Tensor> out = new ArrayList<>(parameters.values());
        for (Module child : children.values()) out.addAll(child.parameters());
        return out;
    }

    public long parameterCount() {
        long n = 0;
        for (Tensor p : parameters()) n += p.size();
        return n;
    }

    public StateDict stateDict() {
        StateDict dict = new StateDict();
        collectState("", dict);
        return dict;
    }

    /** Adds this module's entries under prefix; override to name parameters differently from how they are stored. */
    public void collectState(String prefix, StateDict out) {
        parameters.forEach((name, p) -> out.put(prefix + name, new StateDict.Entry(p, 0, p.shape())));
        children.forEach((name, child) -> child.collectState(prefix + name + ".", out));
    }

    /** Training mode turns dropout on; evaluation mode turns it off. */
    public void train(boolean on) {
        training = on;
        for (Module child : children.values()) child.train(on);
    }

    public boolean isTraining() {
        return training;
    }

    public void zeroGrad() {
        for (Tensor p : parameters()) p.zeroGrad();
    }
}
