import sys, json, torch
sys.path.insert(0, '/tmp/kfit/stubs'); sys.path.insert(0, '/tmp/kfit/kk')
from kokoro.istftnet import Decoder
from kokoro.modules import CustomAlbert, ProsodyPredictor, TextEncoder
from transformers import AlbertConfig

class KModelLocal(torch.nn.Module):
    def __init__(self, config='/tmp/kfit/config.json', disable_complex=True):
        super().__init__()
        config = json.load(open(config))
        self.vocab = config['vocab']
        self.bert = CustomAlbert(AlbertConfig(vocab_size=config['n_token'], **config['plbert']))
        self.bert_encoder = torch.nn.Linear(self.bert.config.hidden_size, config['hidden_dim'])
        self.predictor = ProsodyPredictor(style_dim=config['style_dim'], d_hid=config['hidden_dim'],
            nlayers=config['n_layer'], max_dur=config['max_dur'], dropout=config['dropout'])
        self.text_encoder = TextEncoder(channels=config['hidden_dim'], kernel_size=config['text_encoder_kernel_size'],
            depth=config['n_layer'], n_symbols=config['n_token'])
        self.decoder = Decoder(dim_in=config['hidden_dim'], style_dim=config['style_dim'],
            dim_out=config['n_mels'], disable_complex=disable_complex, **config['istftnet'])
